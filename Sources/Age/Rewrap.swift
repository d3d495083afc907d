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
        return try rewrap(header: header, payload: file[payloadOffset...], identities: identities, keeping: keep,
                          adding: recipients, extraStanzas: extraStanzas)
    }

    /// `rewrap` of a file whose header the caller has parsed already
    /// (`payload`: the bytes after it, nonce first), so a batch parses each
    /// header once. `tryingFirst`: the index of the stanza the caller expects
    /// to be its own (say, as the file's own record of its readers places
    /// it); it is tried before the others, which are all still tried after
    /// it, so a wrong guess costs time, never a result.
    public static func rewrap(header: Header, payload: ArraySlice<UInt8>, identities: [Identity], tryingFirst first: Int? = nil,
                              keeping keep: (Stanza) -> Bool = { _ in false }, adding recipients: [Recipient],
                              extraStanzas: [Stanza] = []) throws -> [UInt8] {
        var ordered = header
        if let first, first > 0, first < header.stanzas.count {
            ordered.stanzas.insert(ordered.stanzas.remove(at: first), at: 0)
        }
        // The MAC covers the header's bytes as parsed, not this order.
        let fileKey = try AgeReader.unwrapFileKey(ordered, identities: identities)
        var stanzas = header.stanzas.filter(keep)
        guard !stanzas.isEmpty || !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients") }
        for recipient in recipients { stanzas += try recipient.wrap(fileKey: fileKey) }
        stanzas += extraStanzas
        // Sized exactly: a batch keeps thousands of these until it commits.
        let header = Header.encode(stanzas: stanzas, fileKey: fileKey)
        var file: [UInt8] = []
        file.reserveCapacity(header.count + payload.count)
        file += header
        file += payload
        return file
    }
}
