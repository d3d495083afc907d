#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import SSHSig

/// The CLI's side of bundle signatures: the user's signing key, and keys
/// named on the command line.
enum BundleSigning {
    /// Far above 10,000 secrets (about 15 MB); bounds what import reads.
    static let maxBundleSize = 256 << 20

    /// Signs as the principal this vault's `.signers` gives the user's key
    /// (the name a vault that trusts the key will also know it by), through
    /// the agent when it holds the identity.
    static func signer(in vault: Vault, options: VaultOptions) throws -> BundleSigner {
        guard let key = try options.settings.identitySigner() else { throw VaultError.identityMissing(path: options.store.path) }
        guard let principal = try vault.trustedSigners(for: key.publicKey, namespace: BundleSigner.namespace, at: Int64(time(nil))).first?.name
        else {
            throw CommandFailure("your signing key (\(key.publicKey.fingerprint)) is not in this vault's .signers, so no one could tell who made the bundle",
                                 hint: "add it: coffer signers add \"$(coffer identity show | tail -n 1)\" --name YOUR-NAME")
        }
        return BundleSigner(principal: principal) { try key.sign($0, BundleSigner.namespace) }
    }

    /// `--signer KEY`: trusted for one import, under its fingerprint.
    static func trusted(_ text: String) throws -> Signer {
        let key = try SSHEd25519PublicKey(parsingAuthorizedKey: text)
        return try Signer(name: key.fingerprint, key: key)
    }
}
