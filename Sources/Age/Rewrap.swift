extension Age {
    /// The same file with a new header: the file key is unwrapped with
    /// `identities` (and the old MAC checked), wrapped afresh for `recipients`,
    /// and the nonce and payload are kept byte for byte. Adding a reader
    /// therefore changes only the header, and a diff shows exactly that.
    ///
    /// The payload is not decrypted here; it stays authenticated by the same
    /// file key, which `open` checks chunk by chunk.
    public static func rewrap(_ file: [UInt8], identities: [Identity], to recipients: [Recipient],
                              extraStanzas: [Stanza] = []) throws -> [UInt8] {
        guard !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients") }
        let (header, payloadOffset) = try Header.parse(file)
        let fileKey = try AgeReader.unwrapFileKey(header, identities: identities)
        var stanzas: [Stanza] = []
        for recipient in recipients { stanzas += try recipient.wrap(fileKey: fileKey) }
        stanzas += extraStanzas
        return Header.encode(stanzas: stanzas, fileKey: fileKey) + file[payloadOffset...]
    }
}
