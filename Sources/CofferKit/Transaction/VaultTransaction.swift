#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// Applies changes as exactly one commit, crash-safely, in named phases:
/// lock → finish any interrupted write → stage (seal new values, decide what
/// to re-seal) → reseal (across the cores) → commit the objects → journal →
/// move HEAD (the commit point) → publish to the work tree and index → drop
/// the journal. A crash before HEAD moves leaves the old state (the work
/// tree was not touched); after, the next command completes the work tree
/// from the journal. Nothing else is written, so a no-op makes no commit.
enum VaultTransaction {
    static func run(_ vault: Vault, changes: [VaultChange], action: Action, identities: [Identity],
                    granted: Set<X25519Recipient> = [], revoked: Set<X25519Recipient> = [],
                    progress: ((Int, Int) -> Void)? = nil) throws -> ChangeOutcome {
        let lock = try vault.lock()
        defer { _ = lock }
        let repo = try vault.repo()
        try recover(vault: vault, repo: repo)
        guard !vault.isHeadDetached else { throw VaultError.detachedHead }
        // A merge git left unfinished: coffer's commit would not be the merge
        // commit, and rewriting the index would drop its conflict stages.
        if let operation = vault.gitOperationInProgress { throw VaultError.gitOperationInProgress(operation) }
        if try repo.indexHasConflicts() { throw VaultError.gitOperationInProgress("a merge with conflicts") }
        let head = try repo.head()

        let acceptance = Acceptance(accepted: try vault.acceptedReaders(), granted: granted, revoked: revoked)
        var staging = try Staging(vault: vault, repo: repo, head: head, changes: changes, identities: identities, acceptance: acceptance)
        // Many objects: one file-system sync for all instead of one fsync each.
        // Blobs, trees and the commit in one batch (one pack when large).
        let made: ObjectID? = try repo.withBatchedObjectSync {
            try staging.stage(changes)
            try staging.reseal(progress: progress)
            return try staging.commit(action: action, changes: changes)
        }
        var outcome = staging.outcome
        guard let commit = made else { return outcome }
        try Journal(old: head, new: commit, changes: staging.treeChanges).write(gitDirectory: vault.gitDirectory)
        try repo.advanceHead(from: head, to: commit, message: "coffer: \(action.rawValue)")
        outcome.commit = commit.hex
        // The user's own change of readers is accepted in this clone. Should
        // this fail, the next change there is refused naming this commit, and
        // `recipients accept` settles it: it fails closed.
        try? staging.acceptedAfterCommit?.save(gitDirectory: vault.gitDirectory)
        // Past the commit point the change is made; a failure now only delays
        // the work tree, which the next command completes from the journal.
        do {
            try publish(vault, repo: repo, changes: staging.treeChanges, contents: staging.files)
            Journal.remove(gitDirectory: vault.gitDirectory)
        } catch {
            outcome.workTreePending = error
            // The commit is acknowledged: make HEAD durable even so.
            try FileSystemSync.sync(vault.gitDirectory)
        }
        return outcome
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
            if case .setSigners(let edit) = change {
                if ids.isEmpty { subject = "coffer: \(action.rawValue) \(edit.summary)" }
                trailers += edit.trailers.map { $0 + "\n" }.joined()
            }
        }
        return subject + "\n\n" + trailers
    }

    static func publish(_ vault: Vault, repo: GitRepository, changes: [TreeChange], contents: [String: [UInt8]]) throws {
        // Recovery also never writes through a symlink; one that appeared since
        // the commit leaves that path for the user (git status shows it).
        // Files are synced together at the end (one syncfs), before the
        // journal that could redo them is removed.
        let safe = changes.filter { Paths.firstSymlink(below: vault.root, along: $0.path) == nil }
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
        try repo.updateIndex(safe)
        try FileSystemSync.sync(vault.root)
    }

    private static func removeEmptyDirectories(from start: String?, upTo root: String) {
        var dir = start
        while let d = dir, d.count > root.count, rmdir(d) == 0 { dir = Paths.parent(d) }
    }

    /// Finishes or discards a write a crash interrupted (the caller holds the lock).
    ///
    /// A killed write can leave, besides the journal, the lock files libgit2
    /// takes while moving the branch or writing the index, and named temporary
    /// files. All of them belong to the dead writer (the vault lock proves no
    /// coffer write is running), so they are removed; only then is the
    /// work tree brought to the journal's commit.
    static func recover(vault: Vault, repo: GitRepository? = nil) throws {
        let git = vault.gitDirectory
        Paths.removeTemporaries(in: git)
        guard Journal.exists(gitDirectory: git) else { return }
        let journal = try Journal.read(gitDirectory: git)
        for path in journal?.changes.map(\.path) ?? [] {
            Paths.removeTemporaries(in: Paths.parent(vault.path(path)) ?? vault.root)
        }
        // Lock files created since the journal are the dead writer's (coffer
        // takes them only after writing it); older ones may be a live git's.
        let since = Paths.modificationTime(git + "/" + Journal.fileName)
        var locks = [git + "/index.lock"]
        if let branch = try? String(decoding: Files.read(path: git + "/HEAD"), as: UTF8.self), branch.hasPrefix("ref: refs/") {
            locks.append(git + "/" + branch.dropFirst("ref: ".count).trimming("\n\r ") + ".lock")
        }
        for lock in locks where Paths.modificationTime(lock).map({ $0 >= (since ?? 0) }) == true { unlink(lock) }
        let repo = try repo ?? vault.repo()
        if let journal, try repo.head() == journal.new {
            try publish(vault, repo: repo, changes: journal.changes, contents: [:])
        }
        Journal.remove(gitDirectory: git)
    }
}
