#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// Applies changes as exactly one commit, crash-safely, in named phases:
/// lock → finish any interrupted write → stage (seal new values, decide what
/// to re-seal) → reseal (across the cores) → commit the objects → journal →
/// take git's index lock → move HEAD (the commit point) → publish to the
/// work tree and index → release the index lock and drop the journal. A
/// crash before HEAD moves leaves the old state (the work tree was not
/// touched); after, the next command completes the work tree and index from
/// the journal. Nothing else is written, so a no-op makes no commit.
///
/// The index lock is held from before the commit point until the index
/// names the new commit's blobs: otherwise a git holding it (an editor's
/// `git status` loop) makes the index write fail after the commit, and the
/// user's next `git commit` records the old value again.
enum VaultTransaction {
    static func run(_ vault: Vault, changes: [VaultChange], action: Action, identities: [Identity],
                    granted: Set<ReaderKey> = [], revoked: Set<ReaderKey> = [],
                    progress: ((Int, Int) -> Void)? = nil) throws -> ChangeOutcome {
        let repo = try vault.repo()
        PhaseTimings.mark("libgit2")
        // The key is readied (a passphrase asked) only for a commit that will
        // be signed, judged from HEAD before the lock; judged again under it,
        // where a key not readied here is opened when the commit needs it.
        if VaultConfig.signsCommit(changes, repo: repo, head: try repo.head(), trusted: nil) {
            try vault.commitSigner?.prepare()
        }
        // A change the audit log could not record is refused before it is made.
        try vault.configuration.audit?.checkWritable()
        let lock = try vault.lock()
        defer { _ = lock }
        try finishInterruptedWrite(vault, repo: repo)
        guard !vault.isHeadDetached else { throw VaultError.detachedHead }
        try refuseUnfinishedGitOperation(vault, index: nil)
        let head = try repo.head()
        PhaseTimings.mark("lock")

        let (trust, accepted) = try vault.trusted()
        let acceptance = Acceptance(accepted: accepted, trust: trust, granted: granted, revoked: revoked)
        var staging = try Staging(vault: vault, repo: repo, head: head, changes: changes, identities: identities, acceptance: acceptance)
        staging.signs = VaultConfig.signsCommit(changes, repo: repo, head: head, trusted: trust?.signing)
        PhaseTimings.mark("trust")
        // Blobs, trees and the commit in one batch (one pack when large);
        // loose ones are flushed with the journal, in `lockIndex`.
        let made: ObjectID? = try repo.withBatchedObjectSync(flushingLoose: false) {
            try staging.stage(changes)
            try staging.reseal(progress: progress)
            PhaseTimings.mark("seal")
            defer { PhaseTimings.mark("commit") }
            return try staging.commit(action: action, changes: changes)
        }
        PhaseTimings.mark("write-objects")
        var outcome = staging.outcome
        guard let commit = made else { return outcome }
        try land(vault, repo: repo, from: head, to: commit, changes: staging.treeChanges, contents: staging.files,
                 action: action, accepted: staging.acceptedAfterCommit, outcome: &outcome)
        return outcome
    }

    /// The second half of every write (the caller holds the vault lock):
    /// journal, index lock, HEAD moved from `head` to `commit` (made, not
    /// yet referenced) — the commit point —, the audit line, then the work
    /// tree and index brought to it (`changes`, with `contents` for the
    /// files whose bytes are at hand). `accepted`: this clone's accepted
    /// readers once the commit is made, when it changes them. `reflog`: the
    /// reflog's message when `commit` is not one coffer made here.
    static func land(_ vault: Vault, repo: GitRepository, from head: ObjectID?, to commit: ObjectID, changes: [TreeChange],
                     contents: [String: [UInt8]], action: Action, accepted: AcceptedReaders?, outcome: inout ChangeOutcome,
                     reflog: String? = nil) throws {
        let (indexLock, index) = try lockIndex(vault, repo: repo, journaling: head, to: commit, changes: changes)
        PhaseTimings.mark("journal-flush-index-read")
        do {
            try repo.advanceHead(from: head, to: commit, message: reflog ?? "coffer: \(action.rawValue)")
        } catch {
            // Short of the commit point nothing changed: no journal or lock is needed.
            if (try? repo.head()) != commit {
                indexLock.release()
                Journal.remove(gitDirectory: vault.gitDirectory)
            }
            throw error
        }
        outcome.commit = commit.hex
        PhaseTimings.mark("ref")
        do {
            try vault.audit(action: action.rawValue, ids: (outcome.written + outcome.removed).map(\.value), commit: commit.hex)
        } catch {
            outcome.auditPending = error as? AuditError ?? .unwritable(path: vault.configuration.audit?.logPath ?? "", reason: "\(error)")
        }
        // The user's own change of readers is accepted in this clone. Should
        // this fail, the next change there is refused naming this commit, and
        // `recipients accept` settles it: it fails closed.
        try? accepted?.save(gitDirectory: vault.gitDirectory)
        // Judged at once, so the clone's record of what it verified includes
        // its own commit: a rewrite that drops it is then seen as one.
        _ = try? vault.trusted()
        PhaseTimings.mark("audit-trust")
        // Past the commit point the change is made; a failure now only delays
        // the work tree and index, which the next command completes from the
        // journal. The index lock stays until then, so git cannot commit the
        // index that lacks this change.
        do {
            try publish(vault, repo: repo, changes: changes, contents: contents, index: index)
            indexLock.release()
            Journal.remove(gitDirectory: vault.gitDirectory)
        } catch {
            outcome.workTreePending = error
            // The commit is acknowledged: make HEAD durable even so.
            try FileSystemSync.sync(vault.gitDirectory)
        }
    }

    /// Recovery before a write (the caller holds the vault lock). A write
    /// whose index is still pending stops this one: its journal would
    /// replace the record of the earlier commit.
    static func finishInterruptedWrite(_ vault: Vault, repo: GitRepository) throws {
        let notices = try recover(vault: vault, repo: repo)
        vault.notices += notices
        for case .indexPending(let path) in notices {
            throw VaultError.gitIndexLocked(path: path, waitedSeconds: Int(vault.configuration.lockTimeout.rounded(.up)))
        }
    }

    /// Writes the journal of a move from `old` to `new` and flushes it with
    /// everything written before (the new commit's objects), then takes git's
    /// index lock with the journal's token
    /// and reads the index under it, refusing one a merge left conflicted.
    /// The journal names the token before the lock exists, so a lock a crash
    /// leaves behind is always one recovery can claim; and the index is read
    /// only under the lock, so no concurrent git change is lost. On failure
    /// neither journal nor lock is left.
    static func lockIndex(_ vault: Vault, repo: GitRepository, journaling old: ObjectID?, to new: ObjectID,
                          changes: [TreeChange]) throws -> (IndexLock, IndexUpdate) {
        let token = Journal.newIndexLockToken()
        // One flush for the journal and every object the new commit needs
        // (written unflushed before), before the lock and the ref that rely on them.
        try Journal(old: old, new: new, changes: changes, indexLockToken: token).write(gitDirectory: vault.gitDirectory, durable: false)
        do {
            try FileSystemSync.sync(vault.gitDirectory)
        } catch {
            Journal.remove(gitDirectory: vault.gitDirectory)
            throw error
        }
        var indexLock: IndexLock?
        do {
            let lock = try vault.indexLock(token: token)
            indexLock = lock
            let index = try repo.beginIndexUpdate(holding: lock)
            // A merge git started meanwhile is looked for again.
            try refuseUnfinishedGitOperation(vault, index: index)
            return (lock, index)
        } catch {
            indexLock?.release()
            Journal.remove(gitDirectory: vault.gitDirectory)
            throw error
        }
    }

    /// A merge (or the like) git left unfinished: coffer's commit would not
    /// be the merge commit, and rewriting the index would drop its conflict
    /// stages. Its marker files are looked for before any work; the index's
    /// conflict stages once it is read, under the lock.
    static func refuseUnfinishedGitOperation(_ vault: Vault, index: IndexUpdate?) throws {
        if let operation = vault.gitOperationInProgress, !vault.mergeIsCommitted() {
            throw VaultError.gitOperationInProgress(operation)
        }
        if index?.hasConflicts == true { throw VaultError.gitOperationInProgress("a merge with conflicts") }
    }

    /// Ids and the action go in the message (as trailers for `history`); values never do.
    static func commitMessage(action: Action, changes: [VaultChange], ids: [SecretID]) -> String {
        var subject = ids.count == 1 ? "coffer: \(action.rawValue) \(ids[0])" : "coffer: \(action.rawValue) \(ids.count) secrets"
        var trailers = "Coffer-Action: \(action.rawValue)\n" + ids.map { "Coffer-Id: \($0)\n" }.joined()
        for change in changes {
            if case .move(let from, let to) = change {
                if changes.count == 1 { subject = "coffer: mv \(from) to \(to)" }
                trailers += "Coffer-Renamed: \(from) -> \(to)\n"
            }
            if case .trailer(let key, let value) = change { trailers += "Coffer-\(key): \(value)\n" }
            if case .setSigners(let edit) = change {
                if ids.isEmpty { subject = "coffer: \(action.rawValue) \(edit.summary)" }
                trailers += edit.trailers.map { $0 + "\n" }.joined()
            }
            if case .setConfig(let edit) = change {
                if ids.isEmpty { subject = "coffer: \(action.rawValue) " + edit.settings.joined(separator: " ") }
                trailers += edit.settings.map { "Coffer-Config: \($0)\n" }.joined()
            }
        }
        return subject + "\n\n" + trailers
    }

    /// Writes the changed files to the work tree and `index` (begun under
    /// the index lock, which the caller holds and releases), then flushes them.
    static func publish(_ vault: Vault, repo: GitRepository, changes: [TreeChange], contents: [String: [UInt8]],
                        index: IndexUpdate) throws {
        let written = try writeWorkTree(vault, repo: repo, changes: changes, contents: contents)
        PhaseTimings.mark("work-tree")
        try index.commit(written)
        PhaseTimings.mark("index-write")
        try FileSystemSync.sync(vault.root)
        PhaseTimings.mark("flush")
    }

    /// Writes the changed files to the work tree; returns the changes made
    /// (all but those behind a symlink), which the index then records.
    static func writeWorkTree(_ vault: Vault, repo: GitRepository, changes: [TreeChange],
                                      contents: [String: [UInt8]]) throws -> [TreeChange] {
        // Recovery also never writes through a symlink; one that appeared since
        // the commit leaves that path for the user (git status shows it).
        // Files are synced together by the caller (one syncfs), before the
        // journal that could redo them is removed.
        let safe = vault.reachable(changes)
        var writes: [(path: String, bytes: [UInt8])] = []
        var directories: Set<String> = []
        for change in safe {
            switch change {
            case .write(let path, let blob):
                let parent = Paths.parent(vault.path(path)) ?? vault.root
                if directories.insert(parent).inserted { try Files.makeDirectories(parent) }
                // Read here, in one thread: a libgit2 repository is not shared across threads.
                writes.append((path, try contents[path] ?? repo.readBlob(blob)))
            case .delete:
                continue
            }
        }
        // Thousands of files after a re-key: written across the cores. Deletes
        // come after, so an emptied directory that a write needs is not removed.
        _ = try Parallel.map(writes) { try WorkTreeFile.write(vault.path($0.path), $0.bytes) }
        for case .delete(let path) in safe {
            unlink(vault.path(path))
            removeEmptyDirectories(from: Paths.parent(vault.path(path)), upTo: vault.root)
        }
        return safe
    }

    private static func removeEmptyDirectories(from start: String?, upTo root: String) {
        var dir = start
        while let d = dir, d.count > root.count, rmdir(d) == 0 { dir = Paths.parent(d) }
    }

    /// Finishes or discards a write a crash interrupted (the caller holds the
    /// vault lock); returns what it had to leave for the user.
    ///
    /// A killed write can leave, besides the journal, named temporary files
    /// (removed: only coffer makes them), a pack being written (see
    /// `GitRepository.removeStalePackFiles`) and two git lock files: the index
    /// lock, which coffer fills with the journal's token, and the branch's
    /// lock, which libgit2 fills with the new commit id while moving HEAD.
    /// Each is removed only when it holds exactly that. Anything else is
    /// another process's lock — a live git's, or one its crash left — and
    /// stays, reported: the vault lock proves no coffer writer is running,
    /// but nothing proves that no git is (no timestamps are trusted).
    @discardableResult
    static func recover(vault: Vault, repo: GitRepository? = nil) throws -> [VaultNotice] {
        let git = vault.gitDirectory
        Paths.removeTemporaries(in: git)
        GitRepository.removeStalePackFiles(gitDirectory: git)
        Paths.removeDeadTemporaries(in: CloneFile.directory(gitDirectory: git))
        guard Journal.exists(gitDirectory: git) else { return [] }
        // A journal torn before its fsync completed was never acted on: no
        // lock had been taken and HEAD had not moved.
        guard var journal = try Journal.read(gitDirectory: git) else {
            Journal.remove(gitDirectory: git)
            return []
        }
        for path in journal.changes.map(\.path) {
            Paths.removeTemporaries(in: Paths.parent(vault.path(path)) ?? vault.root)
        }
        var notices: [VaultNotice] = []
        if let branch = branchRef(git: git), Paths.modificationTime(git + "/" + branch + ".lock") != nil {
            let branchLock = git + "/" + branch + ".lock"
            if ownsBranchLock(branchLock, journal: journal) {
                unlink(branchLock)
            } else {
                notices.append(.foreignLockLeft(path: branchLock))
            }
        }
        let indexLockPath = IndexLock.path(gitDirectory: git)
        let repo = try repo ?? vault.repo()
        guard try repo.head() == journal.new else {
            // Killed before the commit point: nothing reached the work tree or index.
            let ours = journal.indexLockToken.map { IndexLock.removeIfHeld(gitDirectory: git, token: $0) } ?? false
            if !ours, Paths.modificationTime(indexLockPath) != nil { notices.append(.foreignLockLeft(path: indexLockPath)) }
            Journal.remove(gitDirectory: git)
            return notices
        }
        // A journal from before index-lock tokens: record one first, so a
        // crash below leaves a lock this journal claims.
        let token = journal.indexLockToken ?? Journal.newIndexLockToken()
        if journal.indexLockToken == nil {
            journal.indexLockToken = token
            try journal.write(gitDirectory: git)
        }
        // The work tree first: reads answer from the commit even while the index must wait.
        let written = try writeWorkTree(vault, repo: repo, changes: journal.changes, contents: [:])
        let indexLock: IndexLock
        do {
            indexLock = try vault.indexLock(token: token)
        } catch VaultError.gitIndexLocked(let path, _) {
            // The journal stays, so the next command finishes the index.
            try FileSystemSync.sync(vault.root)
            return notices + [.indexPending(lock: path)]
        }
        let index = try repo.beginIndexUpdate(holding: indexLock)
        // Stages a merge left since (someone removed a lock to run it) are not
        // dropped, and git stays free to finish that merge; the journal waits.
        if index.hasConflicts {
            indexLock.release()
            throw VaultError.gitOperationInProgress("a merge with conflicts")
        }
        try index.commit(written)
        try FileSystemSync.sync(vault.root)
        indexLock.release()
        Journal.remove(gitDirectory: git)
        return notices
    }

    /// The branch HEAD names (`refs/heads/<branch>`), if it names one.
    private static func branchRef(git: String) -> String? {
        guard let head = try? String(decoding: Files.read(path: git + "/HEAD"), as: UTF8.self), head.hasPrefix("ref: refs/") else {
            return nil
        }
        return head.dropFirst("ref: ".count).trimming("\n\r ")
    }

    /// The branch's lock is the dead writer's when it holds exactly the
    /// journal's new commit id and a newline: `advanceHead` makes the lock
    /// appear with that content in one step, and no git of anyone else's
    /// writes an id coffer has just made.
    private static func ownsBranchLock(_ lock: String, journal: Journal) -> Bool {
        (try? Files.readRegularFile(path: lock, limit: 128)) == Array((journal.new.hex + "\n").utf8)
    }
}
