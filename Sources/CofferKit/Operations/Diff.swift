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
    /// The commit that made the new side what it is: the newest commit on
    /// its first-parent line that changed the file, with its signature; nil
    /// for a change not committed yet (the work tree), or where no commit did.
    public let origin: CommitOrigin?
}

extension Vault {
    /// Which secrets differ between two revisions, or (with `to` nil) between
    /// `from` (default HEAD) and the work tree. Sealed bytes are compared
    /// first; where the payload differs, values are compared when one of
    /// `identities` reads both sides, so a re-encrypted value is never
    /// reported as changed unless it was. With `reveal`, the values readable
    /// with `identities` come back too. Each difference names the commit
    /// that made it, its signature as `checker` (default: a fresh one) marks it.
    public func differences(from: String?, to: String?, identities: [Identity] = [], reveal: Bool = false,
                            checker: SignatureChecker? = nil) throws -> [SecretDifference] {
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
        let head = try repo.head()
        let base = try from.map(commit) ?? head
        let target = try to.map(commit)
        let old = try base.map { try snapshot($0) } ?? [:]
        let new = try snapshot(target)
        func value(_ file: [UInt8]?, _ id: SecretID) -> SecureBytes? {
            guard let file, !identities.isEmpty else { return nil }
            return try? Sealing.open(file, id: id, identities: identities)
        }
        let differing = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }
        // A revision's side was made by commits; the work tree's only where
        // it holds HEAD's file (against HEAD itself, nowhere).
        let fromCommits: Set<SecretID>
        if target != nil {
            fromCommits = differing
        } else if let head, base != head {
            fromCommits = try differing.filter { id in try repo.blob(at: id.relativePath, in: head).map(repo.readBlob) == new[id] }
        } else {
            fromCommits = []
        }
        let origins = try (target ?? head).map { try self.origins(of: fromCommits, at: $0, checker: checker) } ?? [:]
        var result: [SecretDifference] = []
        for id in differing.sorted() {
            let (o, n) = (old[id], new[id])
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
            result.append(SecretDifference(id: id, kind: kind, sameValue: same, old: reveal ? before : nil, new: reveal ? after : nil,
                                           origin: origins[id]))
        }
        return result
    }

    /// For each of `ids`, the newest commit on `tip`'s first-parent line
    /// that changed its sealed file (none where no commit did), as history
    /// shows it. One walk for them all, ending when each has its commit.
    private func origins(of ids: Set<SecretID>, at tip: ObjectID, checker: SignatureChecker?) throws -> [SecretID: CommitOrigin] {
        guard !ids.isEmpty else { return [:] }
        let repo = try repo()
        let walker = try PathWalker(repo)
        let chain = try walker.chain(from: tip)
        let checker = try checker ?? signatureChecker()
        var left = ids
        var made: [ObjectID: CommitOrigin] = [:]
        var found: [SecretID: CommitOrigin] = [:]
        for (index, link) in chain.enumerated() where !left.isEmpty {
            let parent = index + 1 < chain.count ? chain[index + 1].tree : nil
            guard parent != link.tree else { continue }
            for id in left {
                let here = try walker.blob(at: id.relativePath, inTree: link.tree)
                guard try here != parent.flatMap({ try walker.blob(at: id.relativePath, inTree: $0) }) else { continue }
                if made[link.commit] == nil {
                    let info = try walker.info(link.commit)
                    made[link.commit] = try checker.origin(of: info, claiming: Trailers(info.message).action)
                }
                found[id] = made[link.commit]
                left.remove(id)
            }
        }
        return found
    }
}
