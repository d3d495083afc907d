/// Wraps a file key into stanzas that only the matching identity can open.
public protocol Recipient {
    func wrap(fileKey: SecureBytes) throws -> [Stanza]
    /// True when this recipient's stanza must be alone in the header
    /// (passphrases: a second stanza would let its holder forge the file).
    var mustBeAlone: Bool { get }
}

extension Recipient {
    public var mustBeAlone: Bool { false }
}

/// What an identity makes of a header's stanzas.
public enum UnwrapResult {
    /// One of the stanzas was addressed to this identity.
    case fileKey(SecureBytes)
    /// None of them was: callers try the next identity. Malformed stanzas of
    /// this identity's own type are not "not mine"; they throw.
    case notMine
}

/// Opens stanzas addressed to it.
public protocol Identity {
    func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult
}

/// An identity that names the X25519 key it opens stanzas for: a key
/// file's own key, or one an agent holds and never hands out. Callers that
/// only need to know whose files it reads ask `recipient`, which is public.
public protocol KeyIdentity: Identity {
    var recipient: X25519Recipient { get }
}

/// The file key: 16 bytes from the CSPRNG, fresh for every file.
enum FileKey {
    static let size = 16

    static func generate() -> SecureBytes { .random(count: size) }
}
