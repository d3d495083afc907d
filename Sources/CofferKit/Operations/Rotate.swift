import Age
import SSHSig

/// What `rotate` did.
public struct Rotation: Sendable {
    /// The commit and the re-keyed ids.
    public let outcome: ChangeOutcome
    /// Scopes under the prefix that none of the identities reads: their
    /// secrets were left as they were.
    public let skipped: [Scope]
}

/// What `identity rotate` did.
public struct IdentityRotation: Sendable {
    /// The new public key, now in front in the identity file.
    public let newKey: X25519Recipient
    /// The new signing key's public half, now in `.signers` wherever an
    /// earlier key of the identity was.
    public let newSigningKey: SSHEd25519PublicKey
    /// The `.signers` entries whose key was replaced (their names and old keys).
    public let replacedSigners: [Signer]
    /// The scopes where the new key replaced the old one.
    public let scopes: [Scope]
    /// The commit and the re-keyed ids.
    public let outcome: ChangeOutcome
}

extension Vault {
    /// Gives the secrets under `prefix` fresh data keys (values unchanged), in
    /// one commit: those in scopes one of `identities` reads; the others are
    /// skipped and named.
    public func rotate(_ prefix: Prefix = .all, identities: [any KeyIdentity],
                       progress: ((Int, Int) -> Void)? = nil) throws -> Rotation {
        let ids = list(prefix)
        guard !ids.isEmpty else { throw VaultError.noSecrets(under: prefix) }
        let mine = Set(identities.map(\.recipient))
        var readable: [Scope: Bool] = [:]
        var rotating: [SecretID] = []
        for (id, scope) in zip(ids, try governingScopes(of: ids)) {
            if readable[scope] == nil {
                readable[scope] = try readers(in: scope).readers.contains { mine.contains($0.recipient) }
            }
            if readable[scope] == true { rotating.append(id) }
        }
        let skipped = readable.filter { !$0.value }.map(\.key).sorted()
        let outcome = rotating.isEmpty ? ChangeOutcome()
            : try commit(rotating.map { .rekey($0) }, action: .rotate, identities: identities, progress: progress)
        return Rotation(outcome: outcome, skipped: skipped)
    }

    /// Replaces the user's key with a new one in every scope where it reads,
    /// re-keying those secrets, and the signing key with a new one wherever
    /// `.signers` lists a key the identity held, in one commit.
    ///
    /// The identity file is rewritten first, with the new key in front and
    /// the old ones kept behind it (older versions stay readable, and the
    /// old key is needed until the commit lands), then the signing key file
    /// (the new key, sealed to the new identity key, naming the ones it
    /// retires); if the commit fails, both are put back. A rotation
    /// interrupted after the files were written left the new key in front,
    /// reading nothing yet: it is reused, and the signing keys it retired
    /// are still replaced. `passphrase` re-seals the file as it was sealed
    /// (nil: unprotected).
    ///
    /// When the vault signs its commits, this one is signed with the old
    /// signing key: the chain of trust believes a change to `.signers` only
    /// when a key its parent lists signed it. The old key stays in
    /// `.signers` bounded by `valid-before`, for stock git's sake.
    public func rotateIdentity(in store: IdentityStore, identities: [X25519Identity], name: String?,
                               passphrase: SecureBytes?, workFactor: Int,
                               progress: ((Int, Int) -> Void)? = nil) throws -> IdentityRotation {
        let readers = Set(try scopes().flatMap { try self.readers(in: $0).readers }.map(\.recipient))
        guard let old = identities.first(where: { readers.contains($0.recipient) }) else { throw VaultError.noKeyReadsVault }
        let new = identities[0].recipient != old.recipient && !readers.contains(identities[0].recipient)
            ? identities[0] : X25519Identity.generate()
        var plan = try planReplacingReader(old.recipient, with: new.recipient)
        let held = try store.openSigningKey(identities)
        let retiring = held.map { [$0.key.publicKey] + $0.retired } ?? []
        let signing = SSHSigningKey.generate()
        let signers = retiring.isEmpty ? nil : try signersReplacing(Set(retiring), with: signing.publicKey)
        if let signers { plan.changes.append(.setSigners(signers)) }
        let replaced = try signers.map { _ in try self.signers().filter { retiring.contains($0.key) && $0.entry.validBefore == nil } } ?? []
        let snapshot = try store.snapshot(), signingSnapshot = store.signingKeySnapshot()
        let kept = [new] + identities.filter { $0.recipient != new.recipient }
        do {
            try store.replace(with: kept, name: name, passphrase: passphrase, workFactor: workFactor)
            try store.writeSigningKey(signing, retired: retiring, sealedFor: new.recipient)
            try store.writeSidecar(kept.map(\.recipient), signing: signing.publicKey, name: name)
            let configured = commitSigner
            defer { commitSigner = configured }
            if configured != nil { commitSigner = CommitSigner(key: held?.key ?? signing) }
            let outcome = try apply(plan, identities: identities, progress: progress)
            return IdentityRotation(newKey: new.recipient, newSigningKey: signing.publicKey, replacedSigners: replaced,
                                    scopes: plan.readers.map(\.scope), outcome: outcome)
        } catch {
            try? store.restoreSigningKey(signingSnapshot)
            try? store.restore(snapshot)
            throw error
        }
    }
}
