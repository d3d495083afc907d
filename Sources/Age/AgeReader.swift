/// Decrypts an age v1 stream, in bounded memory (one 64 KiB chunk).
///
/// Creation parses the header, unwraps the file key with the first identity
/// that can, and checks the header MAC before any plaintext exists. Each chunk
/// is released only after it authenticates; a truncated, reordered or extended
/// payload ends in an error, never in a silent short read.
public final class AgeReader {
    public enum ArmorMode { case detect, required, forbidden }

    /// The parsed header; public so callers can read their own extra stanzas.
    public let header: Header
    private let input: BufferedReader
    private var cipher: PayloadCipher
    private let chunk = SecureBytes(count: PayloadCipher.chunkSize)
    private var sealed = [UInt8](repeating: 0, count: PayloadCipher.sealedChunkSize)
    private var chunkStart = 0
    private var chunkEnd = 0
    private var done = false
    private var deferredError: AgeError?

    public init(from source: ByteSource, identities: [Identity], armor: ArmorMode = .detect) throws {
        var reader = BufferedReader(source)
        let armored: Bool
        switch armor {
        case .required: armored = true
        case .forbidden: armored = false
        case .detect: armored = try ArmorReader.looksArmored(reader)
        }
        if armored { reader = BufferedReader(ArmorReader(reader)) }
        input = reader
        header = try Header.parse(from: reader)
        let fileKey = try AgeReader.unwrapFileKey(header, identities: identities)
        var nonce = [UInt8](repeating: 0, count: PayloadCipher.nonceSize)
        let n = try nonce.withUnsafeMutableBytes { try reader.readFull(into: $0) }
        guard n == PayloadCipher.nonceSize else { throw AgeError.missingNonce }
        cipher = PayloadCipher(fileKey: fileKey, nonce: nonce)
    }

    /// The file key, found by the first identity that recognises a stanza and
    /// then confirmed by the header MAC.
    static func unwrapFileKey(_ header: Header, identities: [Identity]) throws -> SecureBytes {
        if header.stanzas.contains(where: { $0.type == ScryptRecipient.stanzaType }) && header.stanzas.count != 1 {
            throw AgeError.scryptNotAlone
        }
        for identity in identities {
            if case .fileKey(let key) = try identity.unwrap(header.stanzas) {
                try header.verifyMAC(fileKey: key)
                return key
            }
        }
        throw AgeError.noIdentityMatched
    }

    /// Copies authenticated plaintext into `buffer`; 0 means the payload ended
    /// correctly. Throws at the first chunk that fails, after releasing every
    /// chunk before it.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if chunkStart == chunkEnd {
            if let error = deferredError { throw error }
            if done { return 0 }
            try readChunk()
        }
        let n = min(buffer.count, chunkEnd - chunkStart)
        chunk.withUnsafeBytes { c in
            buffer.baseAddress!.copyMemory(from: c.baseAddress! + chunkStart, byteCount: n)
        }
        chunkStart += n
        return n
    }

    private func readChunk() throws {
        let index = Int(cipher.counter)
        let n = try sealed.withUnsafeMutableBytes { try input.readFull(into: $0) }
        var last = n < PayloadCipher.sealedChunkSize
        if n == 0 {
            throw fail(AgeError.payloadCorrupted(chunk: index, reason: "payload ended without a final chunk"))
        }
        if last && index > 0 && n == AEAD.tagSize {
            throw fail(AgeError.payloadCorrupted(chunk: index, reason: "empty final chunk"))
        }
        let opened = sealed.withUnsafeBytes { s -> Bool in
            chunk.withUnsafeMutableBytes { c in
                let ct = UnsafeRawBufferPointer(rebasing: s[0..<n])
                if cipher.open(ct, last: last, into: c) { return true }
                guard !last else { return false }
                // A full-size chunk may still be the final one.
                last = true
                return cipher.open(ct, last: true, into: c)
            }
        }
        guard opened else {
            throw fail(AgeError.payloadCorrupted(chunk: index, reason: "authentication failed (tampered or truncated)"))
        }
        chunkStart = 0
        chunkEnd = max(n - AEAD.tagSize, 0)
        if last {
            done = true
            var probe: [UInt8] = [0]
            if try probe.withUnsafeMutableBytes({ try input.readFull(into: $0) }) > 0 {
                // The final chunk authenticated and is released; the error follows it.
                deferredError = AgeError.payloadCorrupted(chunk: index + 1, reason: "trailing data after the final chunk")
            }
        }
    }

    private func fail(_ error: AgeError) -> AgeError {
        deferredError = error
        return error
    }

    /// Decrypts the rest of the stream into one wiped buffer.
    /// `sizeHint` bounds the allocation when the ciphertext length is known.
    public func readAll(sizeHint: Int? = nil) throws -> SecureBytes {
        var capacity = max(sizeHint ?? PayloadCipher.chunkSize, 0)
        var out = SecureBytes(count: capacity)
        var filled = 0
        while true {
            if filled == capacity {
                capacity = max(capacity * 2, PayloadCipher.chunkSize)
                let bigger = SecureBytes(count: capacity)
                bigger.withUnsafeMutableBytes { b in
                    out.withUnsafeBytes { o in if filled > 0 { b.baseAddress!.copyMemory(from: o.baseAddress!, byteCount: filled) } }
                }
                out = bigger
            }
            let n = try out.withUnsafeMutableBytes { o in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: o[filled...]))
            }
            if n == 0 { break }
            filled += n
        }
        out.truncate(to: filled)
        return out
    }
}

/// One-call helpers for small, in-memory files such as vault secrets.
public enum Age {
    public static func encrypt(
        _ plaintext: SecureBytes, to recipients: [Recipient], extraStanzas: [Stanza] = [], armored: Bool = false
    ) throws -> [UInt8] {
        let sink = MemorySink()
        let writer = try AgeWriter(recipients: recipients, extraStanzas: extraStanzas, armored: armored, to: sink)
        try writer.write(plaintext)
        try writer.finish()
        return sink.bytes
    }

    /// Fails closed: either the whole payload authenticates or nothing is returned.
    public static func decrypt(_ ciphertext: [UInt8], identities: [Identity]) throws -> (plaintext: SecureBytes, header: Header) {
        let reader = try AgeReader(from: MemorySource(ciphertext), identities: identities)
        let plaintext = try reader.readAll(sizeHint: ciphertext.count)
        return (plaintext, reader.header)
    }
}
