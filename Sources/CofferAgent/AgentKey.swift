import Age
import AgeSSH

/// A key the agent holds, named by its public half as a `.recipients` line
/// writes it: `age1…` (X25519) or `ssh-ed25519 AAAA…`. The agent's answers
/// and an unwrap request name keys this way; the private half never leaves it.
public enum AgentKey: Hashable, Sendable {
    case x25519(X25519Recipient)
    case sshEd25519(SSHEd25519Recipient)

    /// Parses a key as the agent sends it; public text, so errors quote it.
    public init(parsing text: String) throws {
        do {
            self = text.hasPrefix("ssh-") ? .sshEd25519(try SSHEd25519Recipient(parsing: text)) : .x25519(try X25519Recipient(parsing: text))
        } catch {
            throw AgentError.protocolViolation("\(text.debugDescription) is not a key the agent can hold")
        }
    }

    /// The key of an identity the agent can hold (coffer's own X25519 keys,
    /// an OpenSSH Ed25519 key); nil for any other kind.
    init?(of identity: Identity) {
        switch identity {
        case let key as X25519Identity: self = .x25519(key.recipient)
        case let key as SSHEd25519Identity: self = .sshEd25519(key.recipient)
        default: return nil
        }
    }

    /// `age1…` or `ssh-ed25519 AAAA…` (no comment).
    public var encoded: String {
        switch self {
        case .x25519(let key): return key.encoded
        case .sshEd25519(let key): return key.encoded
        }
    }

    /// The type of the stanzas this key opens: `X25519`, `ssh-ed25519`.
    public var stanzaType: String {
        switch self {
        case .x25519: return X25519Recipient.stanzaType
        case .sshEd25519: return SSHEd25519Recipient.stanzaType
        }
    }
}
