import CSodium

/// Encrypts a stream to age v1, in bounded memory (one 64 KiB chunk).
///
/// The header (with a fresh file key wrapped for every recipient, plus any
/// extra stanzas, all covered by the MAC) is written on creation; plaintext
/// is buffered in a wiped buffer until a whole chunk is known not to be last.
public final class AgeWriter {
    private let sink: ByteSink
    private var cipher: PayloadCipher
    private let pending = SecureBytes(count: PayloadCipher.chunkSize)
    private var pendingCount = 0
    private var sealed = [UInt8](repeating: 0, count: PayloadCipher.sealedChunkSize)
    private var finished = false

    /// - Parameters:
    ///   - extraStanzas: stanzas written after the recipients' and authenticated
    ///     by the header MAC; stock age skips types it does not know.
    ///   - armored: wrap the output in age's ASCII armor.
    public init(recipients: [Recipient], extraStanzas: [Stanza] = [], armored: Bool = false, to sink: ByteSink) throws {
        guard !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients") }
        if recipients.contains(where: \.mustBeAlone) && (recipients.count > 1 || !extraStanzas.isEmpty) {
            throw AgeError.scryptNotAlone
        }
        let fileKey = FileKey.generate()
        var stanzas: [Stanza] = []
        for r in recipients { stanzas += try r.wrap(fileKey: fileKey) }
        stanzas += extraStanzas
        var nonce = [UInt8](repeating: 0, count: PayloadCipher.nonceSize)
        randombytes_buf(&nonce, nonce.count)
        self.sink = armored ? ArmorWriter(to: sink) : sink
        cipher = PayloadCipher(fileKey: fileKey, nonce: nonce)
        let header = Header.encode(stanzas: stanzas, fileKey: fileKey) + nonce
        try header.withUnsafeBytes { try self.sink.write($0) }
    }

    /// Encrypts `bytes`; may be called any number of times.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after finish")
        var offset = 0
        while offset < bytes.count {
            if pendingCount == PayloadCipher.chunkSize {
                // More input follows, so the buffered full chunk is not the last.
                try flush(last: false)
            }
            let take = min(bytes.count - offset, PayloadCipher.chunkSize - pendingCount)
            pending.withUnsafeMutableBytes { p in
                (p.baseAddress! + pendingCount).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
            }
            pendingCount += take
            offset += take
        }
    }

    public func write(_ bytes: SecureBytes) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Seals the final chunk (empty only when the whole payload is) and ends the armor.
    public func finish() throws {
        precondition(!finished, "finish called twice")
        try flush(last: true)
        finished = true
        if let armor = sink as? ArmorWriter { try armor.finish() }
    }

    private func flush(last: Bool) throws {
        let n = pendingCount
        pending.withUnsafeBytes { p in
            sealed.withUnsafeMutableBytes { s in
                cipher.seal(UnsafeRawBufferPointer(rebasing: p[0..<n]), last: last, into: s)
            }
        }
        pendingCount = 0
        try sealed.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<(n + AEAD.tagSize)])) }
    }
}
