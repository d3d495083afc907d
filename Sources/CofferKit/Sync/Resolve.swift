import Age
import GitStore

/// How `coffer resolve` settles one conflict.
public enum Resolution {
    /// Keep this clone's version (or its deletion).
    case ours
    /// Take the other side's version (or its deletion).
    case theirs
    /// A new value, sealed for the scope's readers.
    case value(SecureBytes)
}

extension Vault {
    /// The conflicts a `sync` left, settled ones marked; empty when no merge waits.
    public func conflicts() throws -> [Conflict] {
        guard let record = try PendingMerge.load(gitDirectory: gitDirectory) else { return [] }
        return MergeTransaction.describe(record)
    }

    /// Settles `id`'s conflict; once every conflict is settled, the merge is
    /// made (one commit, re-sealed for the merged readers), as `sync` would
    /// have made it. Returns what that did (`.conflicts` while some remain).
    public func resolve(_ id: SecretID, _ resolution: Resolution, identities: [Identity]) throws -> Integration {
        let record: PendingMerge = try writing {
            let lock = try lock()
            defer { _ = lock }
            guard var record = try PendingMerge.load(gitDirectory: gitDirectory) else { throw VaultError.noMergePending }
            guard let conflict = record.conflicts.first(where: { $0.path == id.relativePath }) else {
                throw VaultError.notInConflict(id: id.value)
            }
            switch resolution {
            case .ours: record.decisions[conflict.path] = .ours
            case .theirs: record.decisions[conflict.path] = .theirs
            case .value(let value):
                let sealed = try Sealing.seal(value, id: id, for: try readers(of: id).readers)
                record.decisions[conflict.path] = .blob(try repo().writeBlob(sealed))
            }
            try record.save(gitDirectory: gitDirectory)
            return record
        }
        return try integrate(record.theirs, source: record.source, identities: identities)
    }
}
