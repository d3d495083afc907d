/// Decrypts an age v1 stream in bounded memory (one batch of chunks).
///
/// Creation parses the header, unwraps the file key with the first identity
/// that can, and checks the header MAC before any plaintext exists. Chunks
/// are opened in parallel batches but released strictly in order, each only
/// after it authenticated; a truncated, reordered or extended payload ends in
/// an error after the chunks before the damage, never in a silent short read.
public final class AgeReader {
    public enum ArmorMode { case detect, required, forbidden }

    /// The parsed header; public so callers can read their own extra stanzas.
    public let header: Header
    private let input: BufferedReader
    private let cipher: PayloadCipher
    private var nextIndex: UInt64 = 0
    /// One chunk at first, a full batch once the payload proves larger.
    private var batchChunks = 1
    /// Sized to the batch read: a value of a few bytes takes a pooled locked
    /// slot, not 64 KiB of pages locked and unlocked for each file opened.
    private var plain = SecureBytes(count: 0)
    private var sealed = [UInt8](repeating: 0, count: PayloadCipher.sealedChunkSize)
    private var releasedStart = 0
    private var releasedEnd = 0
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
        guard buffer.count > 0, try hasReleasedPlaintext() else { return 0 }
        let n = min(buffer.count, releasedEnd - releasedStart)
        plain.withUnsafeBytes { p in
            buffer.baseAddress!.copyMemory(from: p.baseAddress! + releasedStart, byteCount: n)
        }
        releasedStart += n
        return n
    }

    /// Writes the rest of the plaintext to `sink` straight from the wiped chunk
    /// buffer; like `read`, it stops at the first chunk that fails, after
    /// writing every chunk before it.
    public func write(to sink: ByteSink) throws {
        while try hasReleasedPlaintext() {
            try plain.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[releasedStart..<releasedEnd])) }
            releasedStart = releasedEnd
        }
    }

    /// Opens batches until some authenticated plaintext is ready; false at
    /// the correct end of the payload; throws the first failure.
    private func hasReleasedPlaintext() throws -> Bool {
        while releasedStart == releasedEnd {
            if let error = deferredError { throw error }
            if done { return false }
            try readBatch()
        }
        return true
    }

    private enum ChunkResult { case opened(last: Bool), failed, emptyFinal }

    private func readBatch() throws {
        let sealedSize = PayloadCipher.sealedChunkSize
        let wanted = batchChunks * sealedSize
        if sealed.count < wanted { sealed = [UInt8](repeating: 0, count: wanted) }
        let n = try sealed.withUnsafeMutableBytes { try input.readFull(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<wanted])) }
        let first = nextIndex
        if n == 0 {
            throw fail(.payloadCorrupted(chunk: Int(first), reason: "payload ended without a final chunk"))
        }
        let atEOF = n < wanted
        let count = (n + sealedSize - 1) / sealedSize
        // Chunk i opens at i * chunkSize; the last one needs only its own size.
        // The previous batch is all released by now, so the buffer may be replaced.
        let needed = count == 1 ? max(n - AEAD.tagSize, 0) : count * PayloadCipher.chunkSize
        if plain.count < needed { plain = SecureBytes(count: needed) }
        var results = [ChunkResult](repeating: .failed, count: count)
        let cipher = self.cipher
        sealed.withUnsafeBytes { s in
            plain.withUnsafeMutableBytes { p in
                results.withUnsafeMutableBufferPointer { r in
                    PayloadCipher.forEach(count) { i in
                        let ct = UnsafeRawBufferPointer(rebasing: s[(i * sealedSize)..<min((i + 1) * sealedSize, n)])
                        let out = UnsafeMutableRawBufferPointer(rebasing: p[(i * PayloadCipher.chunkSize)...])
                        let index = first + UInt64(i)
                        if ct.count < sealedSize {
                            // A short chunk can only be the final one, and only the
                            // first chunk may be empty (an empty payload).
                            if index > 0 && ct.count == AEAD.tagSize { r[i] = .emptyFinal; return }
                            r[i] = cipher.open(ct, index: index, last: true, into: out) ? .opened(last: true) : .failed
                        } else if cipher.open(ct, index: index, last: false, into: out) {
                            r[i] = .opened(last: false)
                        } else {
                            // A full-size chunk may still be the final one.
                            r[i] = cipher.open(ct, index: index, last: true, into: out) ? .opened(last: true) : .failed
                        }
                    }
                }
            }
        }
        // Release in order, up to the first chunk that failed or ended the stream.
        releasedStart = 0
        releasedEnd = 0
        for (i, result) in results.enumerated() {
            let index = Int(first) + i
            let size = min(sealedSize, n - i * sealedSize) - AEAD.tagSize
            switch result {
            case .failed:
                deferredError = .payloadCorrupted(chunk: index, reason: "authentication failed (tampered or truncated)")
                return
            case .emptyFinal:
                deferredError = .payloadCorrupted(chunk: index, reason: "empty final chunk")
                return
            case .opened(let last):
                releasedEnd += size
                guard last else { continue }
                done = true
                let trailing = try i < count - 1 || (!atEOF && moreInput())
                if trailing {
                    // The final chunk authenticated and is released; the error follows it.
                    deferredError = .payloadCorrupted(chunk: index + 1, reason: "trailing data after the final chunk")
                }
                return
            }
        }
        nextIndex = first + UInt64(count)
        if atEOF {
            // Every chunk opened as non-final, and the input has ended.
            deferredError = .payloadCorrupted(chunk: Int(nextIndex), reason: "payload ended without a final chunk")
        }
        batchChunks = PayloadCipher.batchChunks
    }

    private func moreInput() throws -> Bool {
        var probe: [UInt8] = [0]
        return try probe.withUnsafeMutableBytes { try input.readFull(into: $0) } > 0
    }

    private func fail(_ error: AgeError) -> AgeError {
        deferredError = error
        return error
    }

    /// Decrypts the rest of the stream into one wiped buffer.
    /// `sizeHint` bounds the allocation when the ciphertext length is known.
    public func readAll(sizeHint: Int? = nil) throws -> SecureBytes {
        // A payload that ends in its first batch (any secret value) is sized
        // exactly, so a small one takes a pooled slot rather than locked pages.
        let whole = try !hasReleasedPlaintext() || done
        var capacity = whole ? releasedEnd - releasedStart : max(sizeHint ?? PayloadCipher.chunkSize, 0)
        var out = SecureBytes(count: capacity)
        var filled = 0
        // Ends at the payload's correct end; throws what stopped it otherwise.
        while try hasReleasedPlaintext() {
            if filled == capacity {
                capacity = max(capacity * 2, PayloadCipher.chunkSize)
                let bigger = SecureBytes(count: capacity)
                bigger.withUnsafeMutableBytes { b in
                    out.withUnsafeBytes { o in if filled > 0 { b.baseAddress!.copyMemory(from: o.baseAddress!, byteCount: filled) } }
                }
                out = bigger
            }
            filled += try out.withUnsafeMutableBytes { o in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: o[filled...]))
            }
        }
        out.truncate(to: filled)
        return out
    }
}

/// One-call helpers for small, in-memory files such as vault secrets.
public enum Age {
    public static func encrypt(
        _ plaintext: SecureBytes, to recipients: [Recipient], extraStanzas: [Stanza] = [], armored: Bool = false,
        fileKey: SecureBytes? = nil
    ) throws -> [UInt8] {
        let sink = MemorySink()
        let writer = try AgeWriter(recipients: recipients, extraStanzas: extraStanzas, armored: armored, fileKey: fileKey, to: sink)
        try writer.write(plaintext)
        try writer.finish()
        return sink.bytes
    }

    /// The header of `ciphertext` once an identity has opened it: a stanza
    /// unwraps the file key and the header MAC checks. The payload is not
    /// decrypted and the file key is wiped on return.
    public static func openHeader(_ ciphertext: [UInt8], identities: [Identity]) throws -> Header {
        let header = try Header.parse(ciphertext).header
        _ = try AgeReader.unwrapFileKey(header, identities: identities)
        return header
    }

    /// The file key of `ciphertext` once an identity has opened its header
    /// and the MAC checks (the payload is not read): to wrap it for more
    /// recipients in a batch before `rewrap` does so file by file.
    public static func fileKey(of ciphertext: [UInt8], identities: [Identity]) throws -> SecureBytes {
        try AgeReader.unwrapFileKey(try Header.parse(ciphertext).header, identities: identities)
    }

    /// Fails closed: either the whole payload authenticates or nothing is returned.
    public static func decrypt(_ ciphertext: [UInt8], identities: [Identity]) throws -> (plaintext: SecureBytes, header: Header) {
        let reader = try AgeReader(from: MemorySource(ciphertext), identities: identities)
        let plaintext = try reader.readAll(sizeHint: ciphertext.count)
        return (plaintext, reader.header)
    }
}
