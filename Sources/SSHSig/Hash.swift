import Age
import CSodium

/// The two digests SSHSIG names, through libsodium.
enum Hash {
    static func sha512(_ bytes: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha512_BYTES))
        crypto_hash_sha512(&out, bytes, UInt64(bytes.count))
        return out
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Digest.sha256(bytes) }
}
