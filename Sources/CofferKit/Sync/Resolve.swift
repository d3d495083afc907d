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
    /// The conflicts a `sync` left, settled ones marked, or those of a
    /// stock `git merge` that stopped on them (as `identities` see them);
    /// empty when no merge waits.
    public func conflicts(identities: [Identity] = []) throws -> [Conflict] {
        if let theirs = unfinishedGitMerge {
            var record = try conflicts(mergingIn: theirs, identities: identities)
            if let earlier = try PendingMerge.load(gitDirectory: gitDirectory), earlier.theirs == theirs {
                record.decisions = earlier.decisions
            }
            return MergeTransaction.describe(record)
        }
        guard let record = try PendingMerge.load(gitDirectory: gitDirectory) else { return [] }
        // A merge made since (the record outlived a crash) waits for nothing.
        if let head = try repo().head(), try head == record.theirs || repo().isAncestor(record.theirs, of: head) { return [] }
        return MergeTransaction.describe(record)
    }

    /// Settles `id`'s conflict; once every conflict is settled, the merge is
    /// made (one commit, re-sealed for the merged readers), as `sync` would
    /// have made it. Returns what that did (`.conflicts` while some remain).
    public func resolve(_ id: SecretID, _ resolution: Resolution, identities: [Identity]) throws -> Integration {
        try resolve(path: id.relativePath, resolution, identities: identities)
    }

    /// Settles the conflict at `path` (a sealed file, or another file both
    /// sides changed: a `.recipients` whose merged lines are not valid, the
    /// settings). A new value is only for a sealed file.
    public func resolve(path: String, _ resolution: Resolution, identities: [Identity]) throws -> Integration {
        let id = SecretID(relativePath: path)
        let record: PendingMerge = try writing {
            let lock = try lock()
            defer { _ = lock }
            // A stock merge that stopped on conflicts is taken over first.
            let adopted = try unfinishedGitMerge.map { try adoptGitMerge($0, identities: identities) }
            guard var record = try adopted ?? PendingMerge.load(gitDirectory: gitDirectory) else { throw VaultError.noMergePending }
            guard let conflict = record.conflicts.first(where: { $0.path == path }) else {
                throw VaultError.notInConflict(id: id?.value ?? path)
            }
            switch resolution {
            case .ours: record.decisions[conflict.path] = .ours
            case .theirs: record.decisions[conflict.path] = .theirs
            case .value(let value):
                guard let id else { throw VaultError.notInConflict(id: path) }
                // Sealed for readers this clone accepted, as any write is: a
                // held-back line an earlier merge carried into the work tree
                // is not one (the merge re-seals for the merged readers).
                let governing = try readers(of: id)
                let (trust, accepted) = try trusted()
                try Acceptance(accepted: accepted, trust: trust).check(self, in: .of(id), governing: governing)
                let sealed = try Sealing.seal(value, id: id, for: governing.readers, plugins: plugins)
                record.decisions[conflict.path] = .blob(try repo().writeBlob(sealed))
            }
            try record.save(gitDirectory: gitDirectory)
            return record
        }
        return try integrate(record.theirs, source: record.source, identities: identities)
    }
}
