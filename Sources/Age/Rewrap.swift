extension Age {
    /// The same file with a new header: the file key is unwrapped with
    /// `identities` (and the old MAC checked), the stanzas `keep` accepts are
    /// copied as they were, the key is wrapped afresh for `recipients`, and
    /// the nonce and payload are kept byte for byte. Adding a reader therefore
    /// changes only the header, and a diff shows exactly that.
    ///
    /// Keeping a stanza loses nothing: whoever it was made for already holds
    /// the file key, which the payload keeps. (That is also why removing a
    /// reader needs a fresh file key, not a re-wrap.) The payload is not
    /// decrypted here; it stays authenticated by the same file key.
    public static func rewrap(_ file: [UInt8], identities: [Identity], keeping keep: (Stanza) -> Bool = { _ in false },
                              adding recipients: [Recipient], extraStanzas: [Stanza] = []) throws -> [UInt8] {
        let (header, payloadOffset) = try Header.parse(file)
        let fileKey = try AgeReader.unwrapFileKey(header, identities: identities)
        var stanzas = header.stanzas.filter(keep)
        guard !stanzas.isEmpty || !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients") }
        for recipient in recipients { stanzas += try recipient.wrap(fileKey: fileKey) }
        stanzas += extraStanzas
        return Header.encode(stanzas: stanzas, fileKey: fileKey) + file[payloadOffset...]
    }
}
