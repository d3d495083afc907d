import Dispatch

/// The STREAM construction age uses for the payload: 64 KiB chunks, each sealed
/// with ChaCha20-Poly1305 under a key derived from the file key and a fresh
/// 16-byte nonce. The chunk nonce is an 11-byte big-endian counter and a
/// final-chunk flag, so chunks cannot be reordered, dropped or truncated away.
///
/// Chunks are independent given their index, so batches of them are sealed
/// and opened in parallel across the cores.
struct PayloadCipher {
    static let chunkSize = 64 * 1024
    static let sealedChunkSize = chunkSize + AEAD.tagSize
    static let nonceSize = 16
    /// Chunks per parallel batch: 1 MiB of plaintext, enough to keep two cores
    /// busy while bounding memory to a few MiB.
    static let batchChunks = 16

    private let key: SecureBytes

    init(fileKey: SecureBytes, nonce: [UInt8]) {
        precondition(nonce.count == PayloadCipher.nonceSize)
        key = HKDF.deriveKey(ikm: fileKey, salt: nonce, info: "payload")
    }

    private static func chunkNonce(index: UInt64, last: Bool) -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 12)
        // 2^64 chunks of 64 KiB is beyond any file, so 8 counter bytes suffice.
        for i in 0..<8 { n[10 - i] = UInt8(truncatingIfNeeded: index >> (8 * UInt64(i))) }
        n[11] = last ? 1 : 0
        return n
    }

    func seal(_ plaintext: UnsafeRawBufferPointer, index: UInt64, last: Bool, into out: UnsafeMutableRawBufferPointer) {
        let nonce = PayloadCipher.chunkNonce(index: index, last: last)
        key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { AEAD.seal(key: k, nonce: $0, plaintext: plaintext, into: out) }
        }
    }

    func open(_ ciphertext: UnsafeRawBufferPointer, index: UInt64, last: Bool, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let nonce = PayloadCipher.chunkNonce(index: index, last: last)
        return key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { AEAD.open(key: k, nonce: $0, ciphertext: ciphertext, into: out) }
        }
    }

    /// Runs `body` for 0..<count, in parallel when there is more than one.
    /// Callers give each index its own disjoint slice of the buffers they
    /// share, which is what makes handing `body` to other threads sound.
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count == 1 { body(0) }
        guard count > 1 else { return }
        withoutActuallyEscaping(body) { body in
            let shared = DisjointWork(body: body)
            DispatchQueue.concurrentPerform(iterations: count) { shared.body($0) }
        }
    }
}

/// A closure whose concurrent calls touch disjoint memory only.
private struct DisjointWork: @unchecked Sendable {
    let body: (Int) -> Void
}
