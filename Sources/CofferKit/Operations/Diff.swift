import Age
import GitStore

/// One difference between two states of the vault.
public struct SecretDifference {
    /// How the secret differs.
    public enum Kind: String, Sendable {
        case added, removed
        /// The value differs (both sides were decrypted and compared).
        case changed
        /// A new payload: the value was re-encrypted. `sameValue` says whether
        /// it is the same value (true) or could not be compared (nil).
        case reencrypted = "re-encrypted"
        /// Only the header differs: the data key was re-wrapped for other readers.
        case rewrapped
    }

    /// The secret (renames show as removed and added).
    public let id: SecretID
    /// How it differs.
    public let kind: Kind
    /// Whether the two values are equal, when both sides were decrypted; nil otherwise.
    public let sameValue: Bool?
    /// The value before, when the caller asked to reveal it and could read it.
    public let old: SecureBytes?
    /// The value after, likewise.
    public let new: SecureBytes?
}

extension Vault {
    /// Which secrets differ between two revisions, or (with `to` nil) between
    /// `from` (default HEAD) and the work tree. Sealed bytes are compared
    /// first; where the payload differs, values are compared when one of
    /// `identities` reads both sides, so a re-encrypted value is never
    /// reported as changed unless it was. With `reveal`, the values readable
    /// with `identities` come back too.
    public func differences(from: String?, to: String?, identities: [Identity] = [], reveal: Bool = false) throws -> [SecretDifference] {
        for revision in [from, to].compactMap({ $0 }) { try Text.refuseSecretKey(revision, as: "the revision") }
        let repo = try repo()
        func commit(_ revision: String) throws -> ObjectID {
            guard let id = try repo.resolve(revision) else { throw VaultError.noSuchVaultRevision(revision: revision) }
            return id
        }
        func snapshot(_ commitID: ObjectID?) throws -> [SecretID: [UInt8]] {
            var out: [SecretID: [UInt8]] = [:]
            guard let commitID else {
                for id in list() { out[id] = try sealedFile(id) }
                return out
            }
            for entry in try repo.files(in: commitID, under: "") {
                if let id = SecretID(relativePath: entry.path) { out[id] = try repo.readBlob(entry.blob) }
            }
            return out
        }
        let base = try from.map(commit) ?? repo.head()
        let old = try base.map { try snapshot($0) } ?? [:]
        let new = try snapshot(to.map(commit))
        func value(_ file: [UInt8]?, _ id: SecretID) -> SecureBytes? {
            guard let file, !identities.isEmpty else { return nil }
            return try? Sealing.open(file, id: id, identities: identities)
        }
        var result: [SecretDifference] = []
        for id in Set(old.keys).union(new.keys).sorted() {
            let (o, n) = (old[id], new[id])
            guard o != n else { continue }
            let (before, after) = (value(o, id), value(n, id))
            let kind: SecretDifference.Kind
            var same: Bool?
            switch (o, n) {
            case (nil, _): kind = .added
            case (_, nil): kind = .removed
            case (let o?, let n?) where Sealing.samePayload(o, n): kind = .rewrapped
            default:
                if let before, let after {
                    same = before.constantTimeEquals(after)
                    kind = same == true ? .reencrypted : .changed
                } else {
                    kind = .reencrypted
                }
            }
            result.append(SecretDifference(id: id, kind: kind, sameValue: same, old: reveal ? before : nil, new: reveal ? after : nil))
        }
        return result
    }
}
