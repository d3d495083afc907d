import Age

/// Seals one secret as an age file bound to its id.
///
/// Besides one X25519 stanza per reader, the header carries a binding stanza
/// `-> coffer/binding <id> <fingerprint>…` (empty body). The header MAC covers
/// it and stock age skips it, so a file copied or moved to another id by hand
/// is refused, and `verify` can tell who can read a file without decrypting it.
public enum Sealing {
    static let bindingType = "coffer/binding"

    public static func seal(_ value: SecureBytes, id: SecretID, for readers: [NamedRecipient]) throws -> [UInt8] {
        let binding = Stanza(type: bindingType, arguments: [id.value] + readers.map(\.fingerprint))
        return try Age.encrypt(value, to: readers.map(\.recipient), extraStanzas: [binding])
    }

    /// The same sealed file re-wrapped for `readers`: new header and binding,
    /// the payload bytes unchanged. Needs an identity that reads it now.
    public static func rewrap(_ file: [UInt8], id: SecretID, for readers: [NamedRecipient], identities: [Identity]) throws -> [UInt8] {
        do {
            let (header, _) = try Header.parse(file)
            let bound = try binding(of: header, id: id)
            guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
            let stanza = Stanza(type: bindingType, arguments: [id.value] + readers.map(\.fingerprint))
            return try Age.rewrap(file, identities: identities, to: readers.map(\.recipient), extraStanzas: [stanza])
        } catch let error as AgeError {
            throw VaultError.cannotDecrypt(id: id.value, reason: reason(error))
        }
    }

    /// The value of the sealed `file`, which must be bound to `id`.
    public static func open(_ file: [UInt8], id: SecretID, identities: [Identity]) throws -> SecureBytes {
        do {
            let (value, header) = try Age.decrypt(file, identities: identities)
            let bound = try binding(of: header, id: id)
            guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
            return value
        } catch let error as AgeError {
            throw VaultError.cannotDecrypt(id: id.value, reason: reason(error))
        }
    }

    /// Who a sealed file says it is for, read from the header without any key.
    /// The claim is authenticated only once the file is decrypted.
    public static func boundReaders(of file: [UInt8], id: SecretID) throws -> (id: String, fingerprints: [String]) {
        do {
            return try binding(of: Header.parse(file).header, id: id)
        } catch let error as AgeError {
            throw VaultError.cannotDecrypt(id: id.value, reason: reason(error))
        }
    }

    /// How many X25519 stanzas (readers) the file's header carries.
    static func readerStanzaCount(of file: [UInt8]) throws -> Int {
        try Header.parse(file).header.stanzas.filter { $0.type == "X25519" }.count
    }

    private static func binding(of header: Header, id: SecretID) throws -> (id: String, fingerprints: [String]) {
        let stanzas = header.stanzas.filter { $0.type == bindingType }
        guard stanzas.count == 1, let bound = stanzas[0].arguments.first else { throw VaultError.missingBinding(id: id.value) }
        return (bound, Array(stanzas[0].arguments.dropFirst()))
    }

    private static func reason(_ error: AgeError) -> String {
        switch error.kind {
        case .noMatch: return "none of your identities is a reader of this secret"
        case .header, .headerMAC, .payload, .armor: return "the sealed file is damaged or was altered (\(error))"
        case .key, .other: return "\(error)"
        }
    }
}
