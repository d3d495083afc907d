import Age
import AgePlugin
import GitStore
import Posix

/// The work of one transaction before its commit: what to write where, and
/// what the outcome will report. Built by `VaultTransaction.run`.
struct Staging {
    let vault: Vault
    let repo: GitRepository
    let head: ObjectID?
    let identities: [Identity]
    private(set) var outcome = ChangeOutcome()
    private(set) var treeChanges: [TreeChange] = []
    /// The bytes of every file written, for the work tree after the commit.
    private(set) var files: [String: [UInt8]] = [:]
    /// Whether the commit is signed (by `vault.commitSigner`); see `VaultConfig.signsCommit`.
    var signs = true
    /// Scopes this transaction rewrites; they govern the secrets it seals.
    private let pendingReaders: [Scope: [NamedRecipient]]
    private var checkedScopes: Set<Scope> = []
    /// The readers this clone accepted, and the change the user asked for.
    private let acceptance: Acceptance
    private var scopeOfDirectory: [String: ScopeReaders] = [:]
    /// The sealed file as HEAD records it, for many ids at once: one walk of
    /// HEAD's tree beats a path lookup each (libgit2 does not cache large
    /// trees, so each lookup re-reads them).
    let committedBlobs: [String: ObjectID]?
    /// The committed files a re-key or re-wrap of many ids reads, read
    /// ahead across the cores (`prefetchCommitted`); each is taken once.
    var prefetched: [String: [UInt8]] = [:]
    /// For those of them re-wrapped: whether the file is sealed as it should be already.
    var alreadySealed: [String: Bool] = [:]
    /// Re-sealing existing files is the costly part of a re-key; it runs
    /// after staging, across the cores.
    private var reseals: [(id: SecretID, file: [UInt8], readers: [NamedRecipient], rekey: Bool)] = []
    /// Each scope directory's reader fingerprints, computed once (a SHA-256
    /// each) rather than per file.
    var fingerprintsOfDirectory: [String: [String]] = [:]
    /// Bundle entries to re-wrap for their scope (one X25519 unwrap and a
    /// wrap per reader each): also across the cores, after staging.
    private var imports: [(id: SecretID, file: [UInt8], bound: SecretID, readers: [NamedRecipient])] = []
    /// New values to seal, sealed together at the end of staging, so plugin
    /// readers wrap all their file keys in one session.
    private var seals: [(id: SecretID, value: SecureBytes, readers: [NamedRecipient])] = []

    /// `deletedScopes`: scopes whose `.recipients` the commit deletes (a
    /// merge): their secrets fall to the readers above, whatever the work
    /// tree still holds.
    init(vault: Vault, repo: GitRepository, head: ObjectID?, changes: [VaultChange], identities: [Identity],
         acceptance: Acceptance, deletedScopes: Set<Scope> = []) throws {
        self.vault = vault
        self.repo = repo
        self.head = head
        self.identities = identities
        self.acceptance = acceptance
        var pending: [Scope: [NamedRecipient]] = [:]
        for case .setReaders(let scope, let file) in changes {
            guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: scope) }
            pending[scope] = file.entries
            // Checked here as well as per secret: a scope may hold none yet.
            try acceptance.check(vault, in: scope, governing: ScopeReaders(scope: scope, readers: file.entries))
        }
        for scope in deletedScopes where pending[scope] == nil { pending[scope] = [] }
        pendingReaders = pending
        committedBlobs = try changes.count > 64 ? head.map { head in
            Dictionary(uniqueKeysWithValues: try repo.files(in: head, under: "").map { ($0.path, $0.blob) })
        } : nil
    }

    /// The sealed file of `id` as HEAD records it: the state to compare with
    /// and the one `rm` removes (the work tree may hold something else).
    private mutating func committed(_ id: SecretID) throws -> [UInt8]? {
        if let file = prefetched.removeValue(forKey: id.relativePath) { return file }
        guard let head else { return nil }
        let blob = try committedBlobs.map { $0[id.relativePath] } ?? repo.blob(at: id.relativePath, in: head)
        return try blob.map { try repo.readBlob($0) }
    }

    mutating func readers(for id: SecretID) throws -> ScopeReaders {
        if let known = scopeOfDirectory[id.directory] { return known }
        let found = try vault.readers(in: .of(id), overrides: pendingReaders)
        guard found.readers.count <= Sealing.maxReaders else {
            throw VaultError.tooManyReaders(scope: found.scope, count: found.readers.count, limit: Sealing.maxReaders)
        }
        if pendingReaders[found.scope] == nil, checkedScopes.insert(found.scope).inserted {
            try requireCommitted(found.scope)
        }
        try requireNoneDeleted(from: .of(id), below: found.scope)
        try acceptance.check(vault, in: .of(id), governing: found)
        scopeOfDirectory[id.directory] = found
        return found
    }

    /// A `.recipients` that HEAD holds between `directory` and the scope the
    /// work tree yields was deleted by hand, not in a commit: the readers
    /// above must not silently take over its secrets.
    private func requireNoneDeleted(from directory: Scope, below scope: Scope) throws {
        guard let head else { return }
        var dir = directory
        while dir != scope {
            if try repo.blob(at: dir.recipientsPath, in: head) != nil { throw VaultError.uncommittedRecipients(path: dir.recipientsPath) }
            guard let parent = dir.parent else { return }
            dir = parent
        }
    }

    /// Secrets are sealed only for readers the vault's history records: a
    /// `.recipients` that is untracked or differs from HEAD (a hand edit not yet
    /// committed, a stray file) must not silently decide who can read them.
    private func requireCommitted(_ scope: Scope) throws {
        let file = scope.recipientsPath
        let working = try vault.workTreeFile(file)
        guard let head, let blob = try repo.blob(at: file, in: head), try repo.readBlob(blob) == working else {
            throw VaultError.uncommittedRecipients(path: file)
        }
    }

    /// The accepted readers once this transaction commits: its new scopes'
    /// readers passed the check, so the user's change becomes accepted.
    var acceptedAfterCommit: AcceptedReaders? {
        let written = pendingReaders.filter { !$0.value.isEmpty }
        return written.isEmpty ? nil : acceptance.accepted.accepting(written)
    }

    private mutating func write(_ path: String, _ bytes: [UInt8]) throws {
        treeChanges.append(.write(path: path, blob: try repo.writeBlob(bytes)))
        files[path] = bytes
    }

    private mutating func seal(_ id: SecretID, _ value: SecureBytes) throws {
        seals.append((id, value, try readers(for: id).readers))
    }

    /// Seals the new values staged, skipping those already sealed as they
    /// would be; plugin readers and identities readied first, in one session each.
    private mutating func sealStaged() throws {
        let pending = seals
        seals = []
        let committed = try pending.map { try self.committed($0.id) }
        try PluginPreparation.prepareOpening(committed.compactMap { $0 }, identities: identities)
        var fresh: [(id: SecretID, value: SecureBytes, readers: [NamedRecipient], fileKey: SecureBytes)] = []
        for (job, current) in zip(pending, committed) {
            if let current, isCurrent(current, job.id, job.value, job.readers) {
                outcome.unchanged.append(job.id)
            } else {
                fresh.append((job.id, job.value, job.readers, AgeWriter.newFileKey()))
            }
        }
        try PluginPreparation.prepareWrapping(fresh.map { ($0.fileKey, $0.readers.map(\.recipient)) }, plugins: vault.plugins)
        for job in fresh {
            try write(job.id.relativePath, try Sealing.seal(job.value, id: job.id, for: job.readers, plugins: vault.plugins,
                                                            fileKey: job.fileKey))
            outcome.written.append(job.id)
        }
    }

    /// True when the committed file already holds `value` for exactly
    /// `readers`, so rewriting it would only churn the diff.
    private func isCurrent(_ file: [UInt8], _ id: SecretID, _ value: SecureBytes, _ readers: [NamedRecipient]) -> Bool {
        guard Sealing.isSealed(file, id: id, for: readers),
              let current = try? Sealing.open(file, id: id, identities: identities)
        else { return false }
        return current.constantTimeEquals(value)
    }

    /// Phase one: new values sealed, removals and moves recorded, and the
    /// files to re-seal collected.
    mutating func stage(_ changes: [VaultChange]) throws {
        try prefetchCommitted(changes)
        for change in changes {
            switch change {
            case .set(let id, let value):
                try seal(id, value)
            case .create(let id, let value):
                guard try committed(id) == nil, !vault.contains(id) else { throw VaultError.alreadyExists(id: id.value) }
                try seal(id, value)
            case .remove(let id):
                guard try committed(id) != nil else { throw VaultError.notFound(id: id.value) }
                treeChanges.append(.delete(path: id.relativePath))
                outcome.removed.append(id)
            case .move(let from, let to):
                guard try committed(to) == nil, !vault.contains(to) else { throw VaultError.alreadyExists(id: to.value) }
                guard let sealed = try committed(from) else { throw VaultError.notFound(id: from.value) }
                try seal(to, try Sealing.open(sealed, id: from, identities: identities))
                treeChanges.append(.delete(path: from.relativePath))
                outcome.removed.append(from)
            case .setReaders(let scope, let file):
                try write(scope.recipientsPath, Array(file.text.utf8))
            case .setAttributes(let text):
                try write(Attributes.fileName, Array(text.utf8))
            case .recordImport(let entry, let allowOlder):
                var records = try ImportRecords.committed(in: repo, at: head)
                if !allowOlder { try records.refuseReplay(of: entry) }
                records.record(entry)
                try write(ImportRecords.fileName, Array(records.text.utf8))
            case .importEntry(let id, let file, let bound):
                imports.append((id, file, bound, try readers(for: id).readers))
            case .trailer:
                continue
            case .setSigners(let edit):
                let current = try head.flatMap { try repo.blob(at: SignersFile.fileName, in: $0) }.map { try repo.readBlob($0) }
                guard current == edit.base else { throw VaultError.signersChanged }
                try write(SignersFile.fileName, Array(edit.file.text.utf8))
            case .setConfig(let edit):
                let current = try head.flatMap { try repo.blob(at: VaultConfig.fileName, in: $0) }.map { try repo.readBlob($0) }
                guard current == edit.base else { throw VaultError.configChanged }
                try write(VaultConfig.fileName, Array(edit.config.text.utf8))
            case .rewrap(let id), .rekey(let id):
                guard let current = try committed(id) else { throw VaultError.notFound(id: id.value) }
                let readers = try readers(for: id).readers
                let rekey: Bool
                if case .rekey = change { rekey = true } else { rekey = false }
                if !rekey, alreadySealed.removeValue(forKey: id.relativePath)
                    ?? Sealing.isSealed(current, id: id, for: readers, fingerprints: fingerprints(for: id, readers)) {
                    outcome.unchanged.append(id)
                    continue
                }
                reseals.append((id, current, readers, rekey))
            }
        }
        try sealStaged()
    }

    /// Phase two: existing files re-wrapped or re-keyed, across the cores.
    mutating func reseal(progress: ((Int, Int) -> Void)?) throws {
        var work = reseals.map { job in (job, fingerprintsOfDirectory[job.id.directory]) }
        // Only `work` holds the files now, and lets them go once re-sealed:
        // a re-key's peak memory is then the new files, not old and new.
        reseals = []
        let identities = identities, plugins = vault.plugins
        let own = Set(identities.compactMap { ReaderKey.of($0).map(Fingerprint.of) })
        let fileKeys = try readyPlugins(work.map(\.0))
        let ids = work.map(\.0.id)
        let resealed = try Parallel.map(Array(zip(work, fileKeys)), progress: progress.map { report in { report($0, ids.count) } }) { entry, fileKey in
            let (job, fingerprints) = entry
            if job.rekey {
                return (try Sealing.rekey(job.file, id: job.id, for: job.readers, identities: identities, plugins: plugins, fileKey: fileKey),
                        Sealing.Resealing.rekeyed, try Sealing.boundReaders(of: job.file, id: job.id).fingerprints)
            }
            return try Sealing.reseal(job.file, id: job.id, for: job.readers, fingerprints: fingerprints, own: own,
                                      identities: identities, plugins: plugins)
        }
        work = []
        MemoryTrim.releaseFreePages()
        // Thousands of files name the same few fingerprints: one copy each.
        var fingerprints: [String: String] = [:]
        for (id, (bytes, how, previous)) in zip(ids, resealed) {
            try write(id.relativePath, bytes)
            outcome.written.append(id)
            outcome.previousReaders[id] = previous.map { fingerprint in
                if let known = fingerprints[fingerprint] { return known }
                fingerprints[fingerprint] = fingerprint
                return fingerprint
            }
            if how == .rekeyed { outcome.rekeyed.append(id) }
        }
        let entries = imports
        imports = []
        let rewrapped = try Parallel.map(entries) { entry in
            try Sealing.rewrapped(entry.file, id: entry.bound, as: entry.id, for: entry.readers, identities: identities, plugins: plugins)
        }
        for (entry, bytes) in zip(entries, rewrapped) {
            try write(entry.id.relativePath, bytes)
            outcome.written.append(entry.id)
        }
    }

    /// When plugins take part, they are readied for the whole batch before
    /// the files are re-sealed across the cores: plugin identities are
    /// offered every file, and plugin readers wrap every file key they need —
    /// the present one of a file re-wrapped, or a fresh one drawn here for a
    /// file re-keyed (returned per job; nil where none is drawn).
    private func readyPlugins(_ jobs: [(id: SecretID, file: [UInt8], readers: [NamedRecipient], rekey: Bool)]) throws -> [SecureBytes?] {
        try PluginPreparation.prepareOpening(jobs.map(\.file) + imports.map(\.file), identities: identities)
        guard jobs.contains(where: { PluginPreparation.involves($0.readers) }) || imports.contains(where: { PluginPreparation.involves($0.readers) })
        else { return jobs.map { _ in nil } }
        var wrapping: [(fileKey: SecureBytes, readers: [ReaderKey])] = []
        let fileKeys = jobs.map { job -> SecureBytes? in
            guard PluginPreparation.involves(job.readers) else { return nil }
            if job.rekey {
                let key = AgeWriter.newFileKey()
                wrapping.append((key, job.readers.map(\.recipient)))
                return key
            }
            let added = Sealing.newReaders(of: job.file, id: job.id, among: job.readers)
            if PluginPreparation.involves(added), let key = try? Age.fileKey(of: job.file, identities: identities) {
                wrapping.append((key, added.map(\.recipient)))
            }
            return nil
        }
        for entry in imports where PluginPreparation.involves(entry.readers) {
            if let key = try? Age.fileKey(of: entry.file, identities: identities) { wrapping.append((key, entry.readers.map(\.recipient))) }
        }
        try PluginPreparation.prepareWrapping(wrapping, plugins: vault.plugins)
        return fileKeys
    }

    /// Phase three: the tree and commit objects (nil when nothing changed).
    func commit(action: Action, changes: [VaultChange]) throws -> ObjectID? {
        guard !treeChanges.isEmpty else { return nil }
        // A symlink on the way (say `prod -> ~/.ssh`, pushed by someone else)
        // would send the write outside the vault; a FIFO, socket, device or
        // directory where a file goes, or a file where a directory goes, would
        // leave a commit the work tree cannot follow: refuse before committing.
        var scan = ObstacleScan(below: vault.root)
        for change in treeChanges {
            if let obstacle = scan.obstacle(at: change.path) { throw obstacle }
        }
        let author = try repo.configuredSignature()
            ?? Signature(name: vault.configuration.authorName ?? "coffer", email: "coffer@localhost")
        let message = VaultTransaction.commitMessage(action: action, changes: changes, ids: outcome.written + outcome.removed)
        // An unsigned change of the settings would be held back by every
        // clone's chain of trust: refused rather than committed for nothing.
        let mustSign = changes.contains { if case .setConfig = $0 { return true } else { return false } }
        let signer = signs ? vault.commitSigner : nil
        if mustSign, signer == nil { throw VaultError.unsignedConfigChange }
        return try repo.createCommit(parent: head, changes: treeChanges, message: message, author: author,
                                     sign: signer.map { signer in {
                                         let signature = try signer.sign($0)
                                         if mustSign, signature == nil { throw VaultError.unsignedConfigChange }
                                         return signature
                                     } })
    }
}

/// What a transaction may seal for: the readers this clone accepted, plus the
/// change the user asked for by name (`recipients add` grants its reader,
/// `rm` revokes one). Anything else — a pulled line, a reader a pushed
/// sub-scope leaves out — stops the transaction before anything is written.
struct Acceptance {
    let accepted: AcceptedReaders
    /// The chain of trust's record, to say why a pulled change was held back.
    var trust: TrustState? = nil
    var granted: Set<ReaderKey> = []
    var revoked: Set<ReaderKey> = []

    func check(_ vault: Vault, in directory: Scope, governing: ScopeReaders) throws {
        let unaccepted = try vault.unaccepted(in: directory, governing: governing, accepted: accepted, trust: trust,
                                              granted: granted, revoked: revoked)
        guard unaccepted.isEmpty else { throw VaultError.unacceptedReaders(unaccepted) }
    }
}
