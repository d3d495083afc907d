/// Every way reading an SSH key for age fails. Malformed `ssh-ed25519`
/// stanzas are age format errors (`AgeError.invalidStanza`), not these.
/// Cases carry public input (a public key line, a type name) and fixed
/// reasons — never a private key's bytes, nor text that might hold one.
public enum AgeSSHError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not an `ssh-ed25519 BASE64 [comment]` line; why, the public input quoted and escaped.
    case invalidRecipient(String)
    /// A well-formed SSH key of another type (`ssh-rsa`, `ecdsa-…`, `sk-…`):
    /// age's `ssh-rsa` needs RSA-OAEP, which libsodium lacks.
    case unsupportedKeyType(String)
    /// A private key was given where a recipient belongs; it is not quoted.
    case privateKeyAsRecipient
    /// A public key line was given where a private key file belongs.
    case publicKeyAsIdentity
    /// An OpenSSH private key that cannot be read: a fixed reason, never its text.
    case invalidIdentity(String)
    /// An OpenSSH private key sealed with a passphrase (cipher other than
    /// `none`): opening it needs bcrypt-pbkdf and AES, which libsodium lacks.
    case encryptedKey

    public var description: String {
        switch self {
        case .invalidRecipient(let why): return "invalid ssh-ed25519 recipient: \(why)"
        case .unsupportedKeyType(let type):
            return "SSH key type \(AgeSSHError.escaped(type)) is not supported; only ssh-ed25519 keys are"
        case .privateKeyAsRecipient: return "a private key was given where an SSH public key belongs; it is not shown"
        case .publicKeyAsIdentity: return "an SSH public key was given where its private key file belongs"
        case .invalidIdentity(let why): return "not a usable OpenSSH ssh-ed25519 private key: \(why)"
        case .encryptedKey: return "the OpenSSH private key is passphrase-protected; only unencrypted keys can be read"
        }
    }

    /// A type name as read from a key: quoted, anything but printable ASCII escaped, cut short.
    static func escaped(_ text: String) -> String {
        var out = "\""
        for byte in text.utf8.prefix(64) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\"): out.append(Character(UnicodeScalar(byte)))
            default: out += "\\x" + String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
            }
        }
        return out + (text.utf8.count > 64 ? "…\"" : "\"")
    }
}
