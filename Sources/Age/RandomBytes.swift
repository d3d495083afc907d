import CSodium

/// Bytes from libsodium's CSPRNG for values that must be unguessable and
/// unique but are not secret, such as a lock file's owner token. Secrets use
/// `SecureBytes.random`, which keeps them in a wiped buffer.
public enum RandomBytes {
    public static func generate(count: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { randombytes_buf(&out, count) }
        return out
    }

    /// A uniform choice in `0..<upperBound`, without modulo bias
    /// (libsodium's `randombytes_uniform` rejects the biased range).
    public static func uniform(below upperBound: UInt32) -> UInt32 {
        precondition(upperBound > 0)
        Sodium.ensureInitialized()
        return randombytes_uniform(upperBound)
    }

    /// `count` random bytes as lowercase hex (`2 * count` characters).
    public static func hex(count: Int) -> String {
        Hex.encode(generate(count: count))
    }
}
