/// What a commit did, recorded in its `Coffer-Action` trailer; `history` and
/// `log` read it back.
public enum Action: String, Sendable, CaseIterable {
    case initialize = "init"
    case set, rm, mv, rollback, restore
    /// A new random value (`coffer generate`).
    case generate
    /// Readers added: data keys re-wrapped, payloads kept.
    case rewrap
    /// A reader removed: the secrets they read re-keyed.
    case rekey
    case rotate
    case rotateIdentity = "rotate-identity"
    case fix = "verify-fix"
    /// Secrets re-sealed for their scope's readers after a merge made
    /// without coffer (`coffer reseal`, the post-merge hook).
    case reseal
    /// Secrets brought in from a bundle (`coffer import`).
    case importBundle = "import"
    /// `.signers` changed: who may sign for the vault.
    case addSigner = "signers-add"
    case removeSigner = "signers-rm"
    /// `.coffer-config` changed: the vault's settings (`coffer config`).
    case config
    /// Another clone's history merged in (`coffer sync`, `coffer resolve`).
    case merge

    /// True for actions that re-encrypt values without changing them.
    var keepsValues: Bool {
        switch self {
        case .rewrap, .rekey, .rotate, .rotateIdentity, .fix, .reseal, .mv: return true
        case .initialize, .set, .generate, .rm, .rollback, .restore, .importBundle, .addSigner, .removeSigner, .config, .merge: return false
        }
    }
}
