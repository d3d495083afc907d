import Age

extension Vault {
    /// Values read from a plaintext file (`import --from … --allow-plaintext`),
    /// sorted as a bundle's entries are (`ImportSorting`) and ready to commit
    /// with `importBundle`. A key lands at `PREFIX/<key>` under
    /// `options.prefix`, or as the id it is; one that is not a valid id there
    /// is refused, naming it. The commit says `Coffer-Source: plaintext
    /// <format>`; no replay record is kept, as a plaintext file is neither
    /// signed nor dated. Writes nothing.
    public func planPlaintextImport(_ entries: [PlaintextEntry], format: PlaintextFormat, options: ImportOptions,
                                    identities: [Identity]) throws -> ImportPlan {
        var ids: [SecretID] = []
        var seen = Set<SecretID>()
        for (key, value) in entries {
            let id = try Vault.plaintextTarget(key, under: options.prefix)
            guard seen.insert(id).inserted else { throw PlaintextError.duplicateKey(key, line: nil) }
            guard value.count <= Sealing.maxValueSize else {
                throw VaultError.tooLarge(id: id.value, bytes: value.count, limit: Sealing.maxValueSize)
            }
            ids.append(id)
        }
        var sorting = try ImportSorting(self, identities: identities, policy: options.conflicts)
        var changes: [VaultChange] = []
        for (id, entry) in zip(ids, entries) {
            if try sorting.admits(id, value: { entry.value }) { changes.append(.set(id, entry.value)) }
        }
        changes.append(.trailer(key: "Source", value: "plaintext \(format.rawValue)"))
        return ImportPlan(sorting, signer: nil, sourceCommit: nil, created: nil, digest: nil,
                          risks: try risks(writing: changes, me: options.me), conflictPolicy: options.conflicts, changes: changes)
    }

    /// Where `key` lands: `prefix/key`, or `key` itself without a prefix (or with `/`).
    static func plaintextTarget(_ key: String, under prefix: Prefix?) throws -> SecretID {
        let text = prefix.map { $0.isAll ? key : $0.path + "/" + key } ?? key
        do {
            return try SecretID(text)
        } catch VaultError.invalidID(_, let reason) {
            throw PlaintextError.invalidKey(key, reason: reason)
        }
    }
}
