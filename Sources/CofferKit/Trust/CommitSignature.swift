import GitStore
import SSHSig

/// Who signed a commit, as this clone can tell: the mark `history`, `log`
/// and `diff` show beside each commit.
public struct CommitSignature: Equatable, Sendable {
    public enum Mark: String, Sendable {
        /// Signed by a key this clone trusts as a signer.
        case verified
        /// No signature: made by stock git, or by hand.
        case unsigned
        /// A valid signature by a key this clone does not trust (not in
        /// its pinned chain's `.signers`, or removed from it).
        case unknown
        /// A signature that does not verify: altered or forged.
        case bad
    }

    public let mark: Mark
    /// The signer's name when the key is a trusted (or formerly trusted) signer.
    public let signer: String?
    /// The signing key's fingerprint, when the signature could be read.
    public let fingerprint: String?

    /// "verified alice", "unsigned", "unknown SHA256:…", "bad".
    public var summary: String {
        switch mark {
        case .verified: return "verified " + (signer ?? fingerprint ?? "")
        case .unknown: return "unknown " + (signer.map { "\($0) (removed)" } ?? fingerprint ?? "")
        case .unsigned, .bad: return mark.rawValue
        }
    }
}

/// The key that signed a commit, or why there is none: a pure function of
/// the commit's bytes, which its id names, and so the part of a mark the
/// history index may cache (never the mark itself, which depends on trust).
enum CommitSigningKey: Equatable {
    case unsigned
    case bad
    case key(SSHEd25519PublicKey)

    init(_ commit: ObjectID, in repo: GitRepository) throws {
        guard let data = try repo.commitSignature(commit) else {
            self = .unsigned
            return
        }
        if let key = try? SSHSignature.verify(armored: data.armored, message: data.signedData, namespace: CommitSigner.namespace) {
            self = .key(key)
        } else {
            self = .bad
        }
    }
}

/// Marks commits against this clone's trust: keys it trusts now verify;
/// a key removed from `.signers` verifies only commits that are not
/// descendants of its removal; anything else is unknown.
public final class SignatureChecker {
    private let repo: GitRepository
    private let trust: TrustState?
    /// Each commit's signing key, as verified here or read from the history
    /// index. Trust is not part of it: marks are judged from it on every call.
    var signingKeys: [ObjectID: CommitSigningKey] = [:]

    init(repo: GitRepository, trust: TrustState?) {
        self.repo = repo
        self.trust = trust
    }

    /// False when this clone has pinned no signers: every signed commit is `unknown`.
    public var isPinned: Bool { trust != nil }

    /// False when the vault's trusted setting turns signing off.
    public var signingOn: Bool { trust?.signing ?? true }

    /// The mark of the commit `hex` (a full id).
    public func check(_ hex: String) throws -> CommitSignature {
        guard let id = ObjectID(hex: hex) else { return CommitSignature(mark: .bad, signer: nil, fingerprint: nil) }
        return try check(id)
    }

    func check(_ commit: ObjectID) throws -> CommitSignature {
        let signed = try signingKeys[commit] ?? CommitSigningKey(commit, in: repo)
        signingKeys[commit] = signed
        switch signed {
        case .unsigned: return CommitSignature(mark: .unsigned, signer: nil, fingerprint: nil)
        case .bad: return CommitSignature(mark: .bad, signer: nil, fingerprint: nil)
        case .key(let key):
            // In the chain's order: a key removed binds everything not before its removal.
            for gone in trust?.removed ?? [] where gone.entry.key == key {
                if try !repo.isAncestor(commit, of: gone.commit) {
                    return CommitSignature(mark: .unknown, signer: gone.entry.principals.joined(separator: ","), fingerprint: key.fingerprint)
                }
            }
            let time = try repo.node(commit).time
            if let entry = trust?.signers.first(where: { $0.key == key && $0.permits(namespace: CommitSigner.namespace, at: time) }) {
                return CommitSignature(mark: .verified, signer: entry.principals.joined(separator: ","), fingerprint: key.fingerprint)
            }
            if let gone = trust?.removed.first(where: { $0.entry.key == key }) {
                return CommitSignature(mark: .verified, signer: gone.entry.principals.joined(separator: ","), fingerprint: key.fingerprint)
            }
            return CommitSignature(mark: .unknown, signer: nil, fingerprint: key.fingerprint)
        }
    }
}

extension Vault {
    /// A checker for commit signatures against this clone's trust, judged up to HEAD first.
    public func signatureChecker() throws -> SignatureChecker {
        let trust: TrustState?
        do {
            trust = try trustState()
        } catch VaultError.historyRewritten {
            // Marks still mean something against what this clone trusted last;
            // the rewrite itself is for writes and `verify --history` to refuse.
            trust = try TrustState.load(gitDirectory: gitDirectory)
        }
        return SignatureChecker(repo: try repo(), trust: trust)
    }
}
