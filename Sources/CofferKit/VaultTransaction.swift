#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore

/// One change a command makes to the vault.
public enum VaultChange {
    case set(SecretID, SecureBytes)
    case remove(SecretID)
    case move(from: SecretID, to: SecretID)
    /// Replace the `.recipients` of the scope directory (`""` is the root).
    case setReaders(scope: String, RecipientsFile)
    /// Make the committed file sealed for its scope's readers: re-wrapped
    /// (payload kept) when readers were only added, re-keyed when one was
    /// dropped; nothing happens if it is already sealed for them.
    case rewrap(SecretID)
    /// Re-encrypt the committed file's value under a fresh data key.
    case rekey(SecretID)
}

/// What a transaction did: the commit (nil when nothing changed), and which
/// ids were written, removed or left as they were.
public struct VaultOutcome {
    public var commit: String?
    public var written: [SecretID] = []
    public var removed: [SecretID] = []
    public var unchanged: [SecretID] = []
    /// The written ids that got a fresh data key (a subset of `written`).
    public var rekeyed: [SecretID] = []
    /// For each re-sealed id, the fingerprints of the readers its file was
    /// sealed for before (authenticated: re-sealing checked the header MAC).
    public var previousReaders: [SecretID: [String]] = [:]
    /// Set when the commit landed but updating the work tree failed; the next
    /// command completes it. The change itself is made and acknowledged.
    public var workTreePending: String?
}

/// Applies changes as exactly one commit, crash-safely:
/// lock → finish any interrupted write → seal → blobs, tree and commit objects
/// → journal → move HEAD (the commit point) → work tree files → index → drop
/// the journal. A crash before HEAD moves leaves the old state (the work tree
/// was not touched); after, the next command completes the work tree from the
/// journal. Nothing else is written, so a no-op makes no commit.
enum VaultTransaction {
    static func run(_ vault: Vault, changes: [VaultChange], action: String, identities: [Identity],
                    authorName: String?, progress: ((Int, Int) -> Void)? = nil) throws -> VaultOutcome {
        let lock = try VaultLock(gitDirectory: vault.gitDirectory)
        defer { _ = lock }
        let repo = try Repositories.at(vault.root)
        try recover(vault: vault, repo: repo)

        var outcome = VaultOutcome()
        var treeChanges: [TreeChange] = []
        var files: [String: [UInt8]] = [:]
        var checkedScopes: Set<String> = []
        // Scopes this transaction rewrites; they govern the secrets it seals.
        var pendingScopes: [String: [NamedRecipient]] = [:]
        for case .setReaders(let scope, let file) in changes {
            guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: scope) }
            pendingScopes[scope] = file.entries
        }
        let head = try repo.head()
        guard !Vault.isHeadDetached(gitDirectory: vault.gitDirectory) else { throw VaultError.detachedHead }
        /// The sealed file as HEAD records it: the state to compare with and the
        /// one `rm` removes (the work tree may hold something else).
        // Many lookups: one walk of HEAD's tree beats a path lookup each
        // (libgit2 does not cache large trees, so each lookup re-reads them).
        let committedBlobs = try changes.count > 64 ? head.map { head in
            Dictionary(uniqueKeysWithValues: try repo.files(in: head, under: "").map { ($0.path, $0.blob) })
        } : nil
        func committed(_ id: SecretID) throws -> [UInt8]? {
            guard let head else { return nil }
            let blob = try committedBlobs.map { $0[id.relativePath] } ?? repo.blob(at: id.relativePath, in: head)
            return try blob.map { try repo.readBlob($0) }
        }
        var scopeOfDirectory: [String: (String, [NamedRecipient])] = [:]
        func scope(for id: SecretID) throws -> (String, [NamedRecipient]) {
            if let known = scopeOfDirectory[id.directory] { return known }
            let (scope, readers) = try vault.scope(for: id, overrides: pendingScopes)
            if pendingScopes[scope] == nil, checkedScopes.insert(scope).inserted {
                try requireCommitted(scope: scope, vault: vault, repo: repo, head: head)
            }
            scopeOfDirectory[id.directory] = (scope, readers)
            return (scope, readers)
        }
        func stage(_ path: String, _ bytes: [UInt8]) throws {
            treeChanges.append(.write(path: path, blob: try repo.writeBlob(bytes)))
            files[path] = bytes
        }
        func write(_ id: SecretID, _ value: SecureBytes) throws {
            let (_, readers) = try scope(for: id)
            if let current = try committed(id), isCurrent(current, id, value, readers, identities) {
                outcome.unchanged.append(id)
                return
            }
            try stage(id.relativePath, try Sealing.seal(value, id: id, for: readers))
            outcome.written.append(id)
        }
        // Re-sealing existing files is the costly part of a re-key; it runs
        // after the loop, across the cores.
        var reseals: [(id: SecretID, file: [UInt8], readers: [NamedRecipient], rekey: Bool)] = []
        // Many objects: one file-system sync for all instead of one fsync each.
        // Blobs, trees and the commit in one batch (one pack when large).
        let made: ObjectID? = try repo.withBatchedObjectSync {
        for change in changes {
            switch change {
            case .set(let id, let value):
                try write(id, value)
            case .remove(let id):
                guard try committed(id) != nil else { throw VaultError.notFound(id: id.value) }
                treeChanges.append(.delete(path: id.relativePath))
                outcome.removed.append(id)
            case .move(let from, let to):
                guard try committed(to) == nil, !vault.contains(to) else { throw VaultError.alreadyExists(id: to.value) }
                guard let sealed = try committed(from) else { throw VaultError.notFound(id: from.value) }
                let value = try Sealing.open(sealed, id: from, identities: identities)
                try write(to, value)
                treeChanges.append(.delete(path: from.relativePath))
                outcome.removed.append(from)
            case .setReaders(let scopeDir, let file):
                try stage((scopeDir.isEmpty ? "" : scopeDir + "/") + RecipientsFile.fileName, Array(file.text.utf8))
            case .rewrap(let id), .rekey(let id):
                guard let current = try committed(id) else { throw VaultError.notFound(id: id.value) }
                let (_, readers) = try scope(for: id)
                let rekey: Bool
                if case .rekey = change { rekey = true } else { rekey = false }
                if !rekey, Sealing.isSealed(current, id: id, for: readers) {
                    outcome.unchanged.append(id)
                    continue
                }
                reseals.append((id, current, readers, rekey))
            }
        }
        let resealed = try Parallel.map(reseals, progress: progress.map { report in { report($0, reseals.count) } }) { job in
            let result = job.rekey ? (try Sealing.rekey(job.file, id: job.id, for: job.readers, identities: identities), .rekeyed)
                : try Sealing.reseal(job.file, id: job.id, for: job.readers, identities: identities)
            return (result.bytes, result.how, try Sealing.boundReaders(of: job.file, id: job.id).fingerprints)
        }
        for (job, (bytes, how, previous)) in zip(reseals, resealed) {
            try stage(job.id.relativePath, bytes)
            outcome.written.append(job.id)
            outcome.previousReaders[job.id] = previous
            if how == .rekeyed { outcome.rekeyed.append(job.id) }
        }
        guard !treeChanges.isEmpty else { return nil }
        // A symlink on the way (say `prod -> ~/.ssh`, pushed by someone else)
        // would send the write outside the vault: refuse before committing.
        for change in treeChanges {
            if let link = Paths.firstSymlink(below: vault.root, along: change.path) { throw VaultError.symlinkInVault(path: link) }
        }
        let author = try repo.configuredSignature()
            ?? Signature(name: authorName ?? "coffer", email: "coffer@localhost")
        let message = commitMessage(action: action, changes: changes, ids: outcome.written + outcome.removed)
        return try repo.createCommit(parent: head, changes: treeChanges, message: message, author: author)
        }
        guard let commit = made else { return outcome }
        let journal = Journal(old: head, new: commit, changes: treeChanges)
        try journal.write(gitDirectory: vault.gitDirectory)
        try repo.advanceHead(from: head, to: commit, message: "coffer: \(action)")
        outcome.commit = commit.hex
        // Past the commit point the change is made; a failure now only delays
        // the work tree, which the next command completes from the journal.
        do {
            try applyToWorkTree(vault, repo: repo, changes: treeChanges, contents: files)
            Journal.remove(gitDirectory: vault.gitDirectory)
        } catch {
            outcome.workTreePending = "\(error)"
        }
        return outcome
    }

    /// Secrets are sealed only for readers the vault's history records: a
    /// `.recipients` that is untracked or differs from HEAD (a hand edit not yet
    /// committed, a stray file) must not silently decide who can read them.
    private static func requireCommitted(scope: String, vault: Vault, repo: GitRepository, head: ObjectID?) throws {
        let file = (scope.isEmpty ? "" : scope + "/") + RecipientsFile.fileName
        let working = try Files.read(path: vault.path(file))
        guard let head, let blob = try repo.blob(at: file, in: head), try repo.readBlob(blob) == working else {
            throw VaultError.uncommittedRecipients(path: file)
        }
    }

    /// True when the committed file already holds `value` for exactly
    /// `readers`, so rewriting it would only churn the diff.
    private static func isCurrent(_ file: [UInt8], _ id: SecretID, _ value: SecureBytes,
                                  _ readers: [NamedRecipient], _ identities: [Identity]) -> Bool {
        guard Sealing.isSealed(file, id: id, for: readers),
              let current = try? Sealing.open(file, id: id, identities: identities)
        else { return false }
        return current.constantTimeEquals(value)
    }

    /// Ids and the action go in the message (as trailers for `history`); values never do.
    static func commitMessage(action: String, changes: [VaultChange], ids: [SecretID]) -> String {
        var subject = ids.count == 1 ? "coffer: \(action) \(ids[0])" : "coffer: \(action) \(ids.count) secrets"
        var trailers = "Coffer-Action: \(action)\n" + ids.map { "Coffer-Id: \($0)\n" }.joined()
        for change in changes {
            if case .move(let from, let to) = change {
                if changes.count == 1 { subject = "coffer: mv \(from) to \(to)" }
                trailers += "Coffer-Renamed: \(from) -> \(to)\n"
            }
        }
        return subject + "\n\n" + trailers
    }

    static func applyToWorkTree(_ vault: Vault, repo: GitRepository, changes: [TreeChange], contents: [String: [UInt8]]) throws {
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
        let repo = try repo ?? Repositories.at(vault.root)
        if let journal, try repo.head() == journal.new {
            try applyToWorkTree(vault, repo: repo, changes: journal.changes, contents: [:])
        }
        Journal.remove(gitDirectory: git)
    }
}

extension Vault {
    /// Applies `changes` as one commit; see `VaultTransaction`.
    /// `progress` hears (done, total) while existing files are re-sealed.
    public func apply(_ changes: [VaultChange], action: String, identities: [Identity], authorName: String?,
                      progress: ((Int, Int) -> Void)? = nil) throws -> VaultOutcome {
        try VaultTransaction.run(self, changes: changes, action: action, identities: identities, authorName: authorName, progress: progress)
    }
}
