import GitStore
import SSHSig

/// What `signers pin` would make this clone's root of trust: HEAD's `.signers`.
public struct PinCandidate: Equatable, Sendable {
    /// The commit (hex) whose `.signers` it is.
    public let commit: String
    public let signers: [Signer]
    /// The root this clone pinned before, if any (hex).
    public let previousRoot: String?
    /// True when HEAD no longer holds the commit this clone last verified:
    /// re-pinning accepts a rewritten history.
    public let rewritesVerified: Bool
}

/// Where this clone's chain of trust stands.
public struct TrustStatus: Equatable, Sendable {
    /// The pinned root commit (hex), nil when nothing is pinned.
    public let pinned: String?
    public let verified: String?
    public let signing: Bool
    /// The signers this clone trusts now.
    public let signers: [Signer]
    /// Changes to trust files held back, newest last.
    public let held: [HeldChange]
}

extension Vault {
    /// Where this clone's chain of trust stands, judged up to HEAD.
    public func trustStatus() throws -> TrustStatus {
        guard let state = try trustState() else {
            return TrustStatus(pinned: nil, verified: nil, signing: true, signers: [], held: [])
        }
        return TrustStatus(pinned: state.pinned.hex, verified: state.verified.hex, signing: state.signing,
                           signers: state.trustedSigners, held: state.held)
    }

    /// HEAD's `.signers`, to show a person before pinning it.
    public func pinCandidate() throws -> PinCandidate {
        let repo = try repo()
        guard let head = try repo.head() else { throw VaultError.noSignersToPin }
        let previous = try TrustState.load(gitDirectory: gitDirectory)
        guard let state = try pinState(at: head, only: nil), !state.signers.isEmpty else { throw VaultError.noSignersToPin }
        let rewritten = try previous.map { try !repo.isAncestor($0.verified, of: head) } ?? false
        return PinCandidate(commit: head.hex, signers: state.trustedSigners, previousRoot: previous?.pinned.hex,
                            rewritesVerified: rewritten)
    }

    /// Pins `candidate` (what a person was shown) as this clone's root of
    /// trust: all its signers, or only those whose fingerprints `only`
    /// names (each must be there). Refused when HEAD moved since it was
    /// shown. Returns the signers pinned.
    @discardableResult
    public func pin(_ candidate: PinCandidate, only fingerprints: [String]? = nil) throws -> [Signer] {
        let lock = try lock()
        defer { _ = lock }
        guard try pinCandidate() == candidate, let head = ObjectID(hex: candidate.commit) else { throw VaultError.acceptanceChanged }
        var keys: Set<SSHEd25519PublicKey>?
        if let fingerprints {
            keys = []
            for wanted in fingerprints {
                let normal = wanted.hasPrefix("SHA256:") ? wanted : "SHA256:" + wanted
                guard let signer = candidate.signers.first(where: { $0.fingerprint == normal }) else {
                    throw VaultError.notASigner(wanted)
                }
                keys?.insert(signer.key)
            }
        }
        guard let state = try pinState(at: head, only: keys) else { throw VaultError.noSignersToPin }
        try state.save(gitDirectory: gitDirectory)
        return state.trustedSigners
    }
}

extension Vault {
    /// Adopts signed history in a vault made before it (`signers init`):
    /// one commit that writes `.signers` naming `me`, from which this
    /// clone's chain starts. History before it stays unsigned; reader
    /// changes before it count as this clone accepted them.
    public func initializeSigners(_ me: Signer) throws -> ChangeOutcome {
        if let existing = try committedSigners().file, !existing.signers.isEmpty { throw VaultError.signersExist }
        let outcome = try apply(try planAddSigner(me), identities: [])
        let lock = try lock()
        defer { _ = lock }
        guard let head = try repo().head(), let state = try pinState(at: head, only: [me.key]) else { throw VaultError.noSignersToPin }
        try state.save(gitDirectory: gitDirectory)
        return outcome
    }
}
