/// The vault library. It grows here in later issues (vault, scopes, history);
/// today it holds the file and identity plumbing the CLI shares.
public enum Coffer {
    public static let version = "0.1.0"
}
