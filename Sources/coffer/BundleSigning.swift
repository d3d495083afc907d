import Age
import CofferKit

/// The CLI's side of bundle signatures. (Placeholder until signing keys land.)
enum BundleSigning {
    static let namespace = "coffer-bundle"
    /// Far above 10,000 secrets (about 15 MB); bounds what import reads.
    static let maxBundleSize = 256 << 20

    static func signer(in vault: Vault, options: VaultOptions, identities: [X25519Identity]) throws -> BundleSigner {
        throw CommandFailure("signing keys are not built yet")
    }

    static func trusted(_ key: String) throws -> Signer {
        throw CommandFailure("signing keys are not built yet")
    }
}
