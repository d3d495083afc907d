import CSodium

/// SHA-256 through libsodium, for public fingerprints (never for secrets' MACs).
public enum Digest {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }
}
