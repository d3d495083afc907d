/// The vault library: `Vault` and its operations, identities, scopes.
public enum Coffer {
    /// The version `coffer --version` prints.
    public static let version = "0.1.0"
}
