/// The STREAM construction age uses for the payload: 64 KiB chunks, each sealed
/// with ChaCha20-Poly1305 under a key derived from the file key and a fresh
/// 16-byte nonce. The chunk nonce is an 11-byte big-endian counter and a
/// final-chunk flag, so chunks cannot be reordered, dropped or truncated away.
struct PayloadCipher {
    static let chunkSize = 64 * 1024
    static let sealedChunkSize = chunkSize + AEAD.tagSize
    static let nonceSize = 16

    private let key: SecureBytes
    private(set) var counter: UInt64 = 0

    init(fileKey: SecureBytes, nonce: [UInt8]) {
        precondition(nonce.count == PayloadCipher.nonceSize)
        key = HKDF.deriveKey(ikm: fileKey, salt: nonce, info: "payload")
    }

    private func chunkNonce(last: Bool) -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 12)
        // 2^64 chunks of 64 KiB is beyond any file, so 8 counter bytes suffice.
        for i in 0..<8 { n[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        n[11] = last ? 1 : 0
        return n
    }

    /// Seals one chunk into `out` (plaintext count + 16 bytes) and advances.
    mutating func seal(_ plaintext: UnsafeRawBufferPointer, last: Bool, into out: UnsafeMutableRawBufferPointer) {
        let nonce = chunkNonce(last: last)
        key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { AEAD.seal(key: k, nonce: $0, plaintext: plaintext, into: out) }
        }
        counter += 1
    }

    /// Opens one chunk as `last` or not; advances only on success.
    mutating func open(_ ciphertext: UnsafeRawBufferPointer, last: Bool, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let nonce = chunkNonce(last: last)
        let ok = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { AEAD.open(key: k, nonce: $0, ciphertext: ciphertext, into: out) }
        }
        if ok { counter += 1 }
        return ok
    }
}
