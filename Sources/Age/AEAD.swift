import CSodium

/// ChaCha20-Poly1305 (IETF) as age uses it for wrapping file keys and for STREAM.
/// The file-key wrapping is public for recipient types in other modules (AgeSSH).
public enum AEAD {
    static let keySize = 32
    static let tagSize = 16
    /// Wrap keys are single-use (derived from a fresh ephemeral share or salt),
    /// so the all-zero nonce age specifies for key wrapping never repeats under a key.
    static let zeroNonce = [UInt8](repeating: 0, count: 12)
    /// A wrapped file key's size: 16 bytes sealed with a 16-byte tag. Stanza
    /// bodies are checked against it before any decryption.
    public static let wrappedFileKeySize = FileKey.size + tagSize

    static func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= plaintext.count + tagSize)
        var written: UInt64 = 0
        crypto_aead_chacha20poly1305_ietf_encrypt(
            out.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
            plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
            nil, 0, nil,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self),
            key.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// Returns false when authentication fails; `out` then holds nothing useful.
    static func open(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        ciphertext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard ciphertext.count >= tagSize, out.count >= ciphertext.count - tagSize else { return false }
        var written: UInt64 = 0
        return crypto_aead_chacha20poly1305_ietf_decrypt(
            out.baseAddress?.assumingMemoryBound(to: UInt8.self), &written, nil,
            ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
            nil, 0,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self),
            key.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
    }

    /// Seals a file key under a one-time wrap key.
    public static func wrap(fileKey: SecureBytes, wrapKey: SecureBytes) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: fileKey.count + tagSize)
        wrapKey.withUnsafeBytes { k in
            fileKey.withUnsafeBytes { p in
                zeroNonce.withUnsafeBytes { n in
                    body.withUnsafeMutableBytes { seal(key: k, nonce: n, plaintext: p, into: $0) }
                }
            }
        }
        return body
    }

    /// Opens a wrapped file key; nil means "not for this key". The body length
    /// is checked first (32 bytes) as the spec requires against partitioning oracles:
    /// callers refuse any other length before calling.
    public static func unwrap(body: [UInt8], wrapKey: SecureBytes) -> SecureBytes? {
        precondition(body.count == wrappedFileKeySize)
        let fileKey = SecureBytes(count: FileKey.size)
        let ok = wrapKey.withUnsafeBytes { k in
            body.withUnsafeBytes { c in
                zeroNonce.withUnsafeBytes { n in
                    fileKey.withUnsafeMutableBytes { open(key: k, nonce: n, ciphertext: c, into: $0) }
                }
            }
        }
        return ok ? fileKey : nil
    }
}
