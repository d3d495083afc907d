import Age
import AgePlugin
import AgeSSH

/// A reader's public key, of any kind a `.recipients` line may name. Each
/// reader gets exactly one stanza in every file sealed for it (SPEC §1).
public enum ReaderKey: Hashable, Sendable, CustomStringConvertible {
    /// `age1…`: a native age X25519 key.
    case x25519(X25519Recipient)
    /// `ssh-ed25519 AAAA…`: an SSH key, as age's `ssh-ed25519` type seals for it.
    case sshEd25519(SSHEd25519Recipient)
    /// `age1NAME1…`: a key held by an age plugin (`age-plugin-NAME`), such
    /// as a hardware token's.
    case plugin(PluginRecipient)

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
        } else if ReaderKey.namesPlugin(text) {
            do {
                self = .plugin(try PluginRecipient(parsing: text))
            } catch let error as PluginError {
                throw VaultError.invalidReader(error.description)
            }
        } else {
            self = .x25519(try X25519Recipient(parsing: text))
        }
    }

    /// True for `age1NAME1…`: Bech32's separator is its last `1` (the data
    /// alphabet has none), which an X25519 key's `age1…` has right after
    /// `age`. Decided without decoding, so each `.recipients` line is
    /// decoded once.
    private static func namesPlugin(_ text: String) -> Bool {
        guard text.hasPrefix("age1"), let separator = text.utf8.lastIndex(of: UInt8(ascii: "1")) else { return false }
        return text.utf8.distance(from: text.utf8.startIndex, to: separator) > 3
    }

    /// A key as a line gives it, with what follows an SSH key (its comment,
    /// `bob@laptop` in a `.pub` line) as a name.
    public static func parse(line: String) throws -> (key: ReaderKey, comment: String?) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count > 2, looksLikeKey(line), !line.hasPrefix("age1") else { return (try ReaderKey(parsing: line), nil) }
        return (try ReaderKey(parsing: words.prefix(2).joined(separator: " ")), words.dropFirst(2).joined(separator: " "))
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
        case .plugin(let key): return "plugin " + key.name
        }
    }

    /// The key as a `.recipients` line writes it.
    public var encoded: String {
        switch self {
        case .x25519(let key): return key.encoded
        case .sshEd25519(let key): return key.encoded
        case .plugin(let key): return key.encoded
        }
    }

    public var description: String { encoded }

    /// What wraps a file key for this reader; a plugin's reader through
    /// `plugins`, the operation's one session per plugin reader.
    func wrapper(_ plugins: PluginBatch) -> Recipient {
        switch self {
        case .x25519(let key): return key
        case .sshEd25519(let key): return key
        case .plugin(let key): return OneStanza(plugin: key.name, wrapped: plugins.recipient(key))
        }
    }

    /// A plugin reader's wrapper, held to what every reader gets: exactly one
    /// stanza, and never one coffer or age gives a meaning of its own (the
    /// binding, a passphrase's) — else the file would drift for ever, or
    /// open for no one.
    private struct OneStanza: Recipient {
        let plugin: String
        let wrapped: Recipient

        var mustBeAlone: Bool { wrapped.mustBeAlone }

        func wrap(fileKey: SecureBytes) throws -> [Stanza] {
            let stanzas = try wrapped.wrap(fileKey: fileKey)
            guard stanzas.count == 1 else {
                throw VaultError.invalidReader("plugin \(plugin) gave \(stanzas.count) stanzas for one reader; coffer seals exactly one per reader")
            }
            guard stanzas[0].type != Sealing.bindingType, stanzas[0].type != "scrypt" else {
                throw VaultError.invalidReader("plugin \(plugin) gave a stanza of the reserved type \(UntrustedText.escaped(stanzas[0].type))")
            }
            return stanzas
        }
    }

    /// The plugin's recipient, for a plugin reader.
    var pluginRecipient: PluginRecipient? {
        if case .plugin(let key) = self { return key }
        return nil
    }

    /// The bytes the fingerprint is taken over: an X25519 key's 32 bytes, as
    /// every file sealed so far records it; an SSH key's wire form (51 bytes,
    /// its type first); a plugin recipient's text after a tag (over 32 bytes).
    var fingerprintInput: [UInt8] {
        switch self {
        case .x25519(let key): return key.publicKey
        case .sshEd25519(let key): return key.key.wireBlob
        // Tagged, so no plugin recipient's text can equal another kind's bytes.
        case .plugin(let key): return Array(("age-plugin-recipient\u{0}" + key.encoded.lowercased()).utf8)
        }
    }
}

extension ReaderKey {
    /// The reader `identity` opens files for, when the identity can tell
    /// (a plugin identity, say, need not know its recipient).
    public static func of(_ identity: Identity) -> ReaderKey? {
        switch identity {
        // An identity file's own key first: a cast to a protocol has the
        // runtime look through every conformance, a quarter of a million
        // instructions of each `set`.
        case let identity as X25519Identity: return .x25519(identity.recipient)
        // Keys opened here or held by the agent, by their kind.
        case let identity as any SSHKeyIdentity: return .sshEd25519(identity.recipient)
        case let identity as any KeyIdentity: return .x25519(identity.recipient)
        default: return nil
        }
    }
}

extension X25519Recipient {
    /// This key as a reader.
    public var reader: ReaderKey { .x25519(self) }
}
