import Age
import GitStore
import Posix

extension Vault {
    /// The values of the committed secrets under `prefix` (HEAD, not the work
    /// tree), for `export --format … --reveal`: keyed by their ids relative to
    /// `prefix` (`prefix` itself, as an id, by its last segment), sorted by
    /// id. Every one must open: those you cannot are named and nothing is
    /// returned. (The prefix itself and an id below it can share a key:
    /// `a/b` and `a/b/b` under `a/b`; that is refused, naming both.)
    public func plaintextValues(under prefix: Prefix, identities: [Identity]) throws -> [PlaintextEntry] {
        try plaintextSecrets(under: prefix, identities: identities).map { (key: $0.key, value: $0.value) }
    }

    /// The same values with the id each came from (for the audit log).
    public func plaintextSecrets(under prefix: Prefix, identities: [Identity]) throws -> [(id: SecretID, key: String, value: SecureBytes)] {
        let repo = try repo()
        guard let head = try repo.head() else { throw BundleError.nothingToExport(prefix) }
        let sealed = try repo.files(in: head, under: prefix.path).compactMap { entry -> (SecretID, ObjectID)? in
            guard let id = SecretID(relativePath: entry.path), prefix.contains(id) else { return nil }
            return (id, entry.blob)
        }.sorted { $0.0 < $1.0 }
        guard !sealed.isEmpty else { throw BundleError.nothingToExport(prefix) }
        var owners: [String: SecretID] = [:]
        for (id, _) in sealed {
            let key = Vault.relativeKey(id, under: prefix)
            if let other = owners.updateValue(id, forKey: key) { throw PlaintextError.sameKey(key, ids: [other.value, id.value]) }
        }
        // Blobs are read here, in one thread: a libgit2 handle is not shared.
        let jobs = try sealed.map { ($0.0, try repo.readBlob($0.1)) }
        try PluginPreparation.prepareOpening(jobs.map(\.1), identities: identities)
        let values = try Parallel.map(jobs) { id, file -> SecureBytes? in
            do {
                return try Sealing.open(file, id: id, identities: identities)
            } catch VaultError.notReadable {
                return nil
            }
        }
        let unreadable = zip(jobs, values).filter { $0.1 == nil }.map(\.0.0)
        guard unreadable.isEmpty else { throw BundleError.unreadable(unreadable) }
        return zip(jobs, values).map { job, value in (id: job.0, key: Vault.relativeKey(job.0, under: prefix), value: value!) }
    }

    /// `id` relative to `prefix`; the prefix itself, as an id, by its last segment.
    static func relativeKey(_ id: SecretID, under prefix: Prefix) -> String {
        if prefix.isAll { return id.value }
        if id.value == prefix.path { return String(id.value.split(separator: "/").last ?? Substring(id.value)) }
        return String(id.value.dropFirst(prefix.path.count + 1))
    }
}
