import CSodium

/// Hashes through libsodium: SHA-256 for public fingerprints (never for
/// secrets' MACs), keyed BLAKE2b to recognise a value without keeping it.
public enum Digest {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }

    /// BLAKE2b-256 (libsodium's `crypto_generichash`, no key): a checksum
    /// that tells a damaged file from a whole one, several times faster
    /// than SHA-256 here. Not a MAC: whoever can write the file can
    /// recompute it.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_generichash(&out, out.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        return out
    }

    /// A keyed BLAKE2b hash (libsodium's `crypto_generichash`, 32 bytes):
    /// with a fresh random key it lets a process recognise a value later
    /// without keeping it, and the hash alone tells nothing about it.
    public static func keyedHash(_ bytes: UnsafeRawBufferPointer, key: SecureBytes) -> [UInt8] {
        precondition(key.count >= crypto_generichash_KEYBYTES_MIN && key.count <= crypto_generichash_KEYBYTES_MAX)
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: keyedHashSize)
        key.withUnsafeBytes { k in
            _ = crypto_generichash(&out, out.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count),
                                   k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        }
        return out
    }

    /// The size of `keyedHash`'s output and of the key it should get.
    public static let keyedHashSize = 32
}
