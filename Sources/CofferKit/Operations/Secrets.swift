import Age

/// Reading and writing secrets: get, set, rm, mv, rollback, restore.
extension Vault {
    /// The value of `id`, now or at `revision` (`vN` or a git revision), after
    /// checking that the file is a regular file bound to `id`.
    ///
    /// Reads take no lock: a file met while a writer rewrites it in place
    /// fails authentication, so on such a failure during a write (the journal
    /// is there) the read waits for the writer and tries once more.
    public func read(_ id: SecretID, at revision: String? = nil, identities: [Identity]) throws -> SecureBytes {
        if let revision { return try open(id, at: revision, identities: identities) }
        do {
            return try openCurrent(id, identities: identities)
        } catch let error as VaultError where Journal.exists(gitDirectory: gitDirectory) {
            switch error {
            case .damaged, .notReadable: break
            default: throw error
            }
            try finishInterruptedWrite()
            return try openCurrent(id, identities: identities)
        }
    }

    /// Readies the plugin identities among `identities` for reading `ids`
    /// one by one (`read`): each plugin is offered all their files in one
    /// session, so a hardware key asks once. Files that cannot be read are
    /// left for `read` to report.
    public func prepareReading(_ ids: [SecretID], identities: [Identity]) throws {
        guard identities.contains(where: { $0 is PluginReaderIdentity }) else { return }
        try PluginPreparation.prepareOpening(ids.compactMap { try? sealedFile($0) }, identities: identities)
    }

    private func openCurrent(_ id: SecretID, identities: [Identity]) throws -> SecureBytes {
        let file = try sealedFile(id)
        guard contains(id) else { throw VaultError.notFound(id: id.value) }
        return try Sealing.open(file, id: id, identities: identities)
    }

    /// Plans sealing `values` (one commit). `me` are the user's public keys,
    /// if known: sealing into a scope none of them reads is a risk to
    /// confirm, since the user could not read the value back.
    public func planSet(_ values: [(SecretID, SecureBytes)], me: Set<ReaderKey>?) throws -> ChangePlan {
        var scopes: [Scope: ScopeReaders] = [:]
        for (id, value) in values {
            guard value.count <= Sealing.maxValueSize else {
                throw VaultError.tooLarge(id: id.value, bytes: value.count, limit: Sealing.maxValueSize)
            }
            let found = try readers(of: id)
            scopes[found.scope] = found
        }
        let changes = values.map { VaultChange.set($0.0, $0.1) }
        return ChangePlan(action: .set, changes: changes, secretCount: values.count,
                          risks: ChangePlan.unreadable(Array(scopes.values), by: me))
    }

    /// Removes secrets in one commit; history keeps their versions.
    public func remove(_ ids: [SecretID]) throws -> ChangeOutcome {
        try commit(ids.map { .remove($0) }, action: .rm, identities: [])
    }

    /// Plans renaming a secret: re-sealed for the new id and its scope's
    /// readers. Moving it into a scope none of `me` reads is a risk to confirm.
    public func planMove(_ from: SecretID, to: SecretID, me: Set<ReaderKey>?) throws -> ChangePlan {
        guard contains(from) else { throw VaultError.notFound(id: from.value) }
        if let me {
            // Moving re-seals the value: a file none of `me` reads fails now,
            // naming the id, before any question about the destination.
            let bound = try Sealing.boundReaders(of: try sealedFile(from), id: from).fingerprints
            guard me.contains(where: { bound.contains(Fingerprint.of($0)) }) else {
                throw VaultError.notReadable(id: from.value, revision: nil)
            }
        }
        return ChangePlan(action: .mv, changes: [.move(from: from, to: to)], secretCount: 1,
                          risks: ChangePlan.unreadable([try readers(of: to)], by: me))
    }

    /// Makes the value `id` had at `revision` current again, sealed for
    /// today's readers (nothing is written if it is current already).
    public func rollback(_ id: SecretID, to revision: String, identities: [Identity]) throws -> ChangeOutcome {
        let value = try read(id, at: revision, identities: identities)
        return try commit([.set(id, value)], action: .rollback, identities: identities)
    }

    /// Brings back a removed secret: its last value, or the one at `revision`.
    public func restore(_ id: SecretID, at revision: String? = nil, identities: [Identity]) throws -> ChangeOutcome {
        guard !contains(id) else { throw VaultError.alreadyExists(id: id.value) }
        let value = try revision.map { try read(id, at: $0, identities: identities) }
            ?? lastValueBeforeRemoval(id, identities: identities)
        return try commit([.set(id, value)], action: .restore, identities: identities)
    }
}
