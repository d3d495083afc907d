import Age
import AgeSSH

/// A reader's public key, of any kind a `.recipients` line may name. Each
/// reader gets exactly one stanza in every file sealed for it (SPEC §1).
public enum ReaderKey: Hashable, Sendable, CustomStringConvertible {
    /// `age1…`: a native age X25519 key.
    case x25519(X25519Recipient)
    /// `ssh-ed25519 AAAA…`: an SSH key, as age's `ssh-ed25519` type seals for it.
    case sshEd25519(SSHEd25519Recipient)

    /// Parses a key as a `.recipients` line or the command line gives it
    /// (without the name). The input is public, so errors quote it.
    /// Any other SSH key type (`ssh-rsa`, `ecdsa-…`) is refused by name.
    public init(parsing text: String) throws {
        if text.hasPrefix("ssh-") || text.hasPrefix("ecdsa-") || text.hasPrefix("sk-") {
            do {
                self = .sshEd25519(try SSHEd25519Recipient(parsing: text))
            } catch let error as AgeSSHError {
                throw VaultError.invalidReader(error.description)
            }
        } else {
            self = .x25519(try X25519Recipient(parsing: text))
        }
    }

    /// True when `text` looks like a key rather than a reader's name.
    public static func looksLikeKey(_ text: String) -> Bool {
        text.hasPrefix("age1") || text.hasPrefix("ssh-") || text.hasPrefix("ecdsa-") || text.hasPrefix("sk-")
    }

    /// The kind, for people: `X25519`, `ssh-ed25519`.
    public var kind: String {
        switch self {
        case .x25519: return X25519Recipient.stanzaType
        case .sshEd25519: return SSHEd25519Recipient.stanzaType
        }
    }

    /// The key as a `.recipients` line writes it.
    public var encoded: String {
        switch self {
        case .x25519(let key): return key.encoded
        case .sshEd25519(let key): return key.encoded
        }
    }

    public var description: String { encoded }

    /// What wraps a file key for this reader.
    var wrapper: Recipient {
        switch self {
        case .x25519(let key): return key
        case .sshEd25519(let key): return key
        }
    }

    /// The bytes the fingerprint is taken over (X25519: the raw public key,
    /// as every file sealed so far records it; SSH: the key's wire form).
    var fingerprintInput: [UInt8] {
        switch self {
        case .x25519(let key): return key.publicKey
        case .sshEd25519(let key): return key.key.wireBlob
        }
    }
}

extension ReaderKey {
    /// The reader `identity` opens files for, when the identity can tell
    /// (a plugin identity, say, need not know its recipient).
    public static func of(_ identity: Identity) -> ReaderKey? {
        switch identity {
        case let identity as X25519Identity: return .x25519(identity.recipient)
        case let identity as SSHEd25519Identity: return .sshEd25519(identity.recipient)
        default: return nil
        }
    }
}

extension X25519Recipient {
    /// This key as a reader.
    public var reader: ReaderKey { .x25519(self) }
}
