import Age
import GitStore

/// The vault library. It grows here in later issues (vault, scopes, history);
/// today it names the product and the versions of what it is built on.
public enum Coffer {
    public static let version = "0.1.0"

    /// Component versions for `coffer version --verbose`; touches libgit2, so
    /// only commands that need history should call it.
    public static var componentVersions: [(String, String)] {
        [("coffer", version), ("libgit2", GitRuntime.version)]
    }
}
