/// A type that holds key material or plaintext. Whatever prints it —
/// `description`, `debugDescription`, string interpolation, `print`,
/// `dump`, a `Mirror` — gets `redactedDescription` and no children, so a
/// value never reaches a log or a debugger's summary by accident. None of
/// these types is `Codable`.
public protocol Redacted: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What the type shows instead of its bytes: its name and, at most,
    /// sizes and public parts (a public key, a count).
    var redactedDescription: String { get }
}

extension Redacted {
    public var redactedDescription: String { "\(Self.self)(<redacted>)" }
    public var description: String { redactedDescription }
    public var debugDescription: String { redactedDescription }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

// Every public type of this module that holds a private key, a passphrase,
// a file key or plaintext (RedactedTypesTests covers each).
extension X25519Identity: Redacted {
    public var redactedDescription: String { "X25519Identity(<redacted>, \(recipient.encoded))" }
}
extension ScryptIdentity: Redacted {}
extension ScryptRecipient: Redacted {}
extension UnwrapResult: Redacted {}
extension AgeReader: Redacted {}
extension AgeWriter: Redacted {}
/// Byte buffers: what they hold may be plaintext (a decryption's output).
extension MemorySource: Redacted {}
extension MemorySink: Redacted {}
