/// Every way SSH keys and signatures fail. Cases carry fixed reasons and
/// public input only (a public key line, a namespace, a type name), quoted
/// and escaped; a private key's bytes, or text that might hold one, are
/// never quoted.
public enum SSHSigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not an `ssh-ed25519 BASE64 [comment]` line or key blob; the public input.
    case invalidPublicKey(String)
    /// A well-formed key of another type (ssh-rsa, ecdsa…): coffer signs and
    /// verifies Ed25519 only.
    case unsupportedKeyType(String)
    /// Private key text was given where a public key belongs.
    case privateKeyAsPublicKey
    /// A namespace that is empty, too long or holds control characters.
    case invalidNamespace(String)
    /// The text is not one `-----BEGIN SSH SIGNATURE-----` block.
    case invalidArmor(String)
    /// The signature blob does not follow PROTOCOL.sshsig.
    case malformedSignature(String)
    /// A signature format version other than 1.
    case unsupportedVersion(UInt32)
    /// A hash algorithm other than sha512 or sha256.
    case unsupportedHash(String)
    /// The signature was made for another use than the one being checked.
    case namespaceMismatch(expected: String, found: String)
    /// The signature does not verify: the message, or the signature, was altered.
    case signatureMismatch
    /// An OpenSSH private key that cannot be read (a fixed reason, never its text).
    case invalidPrivateKey(String)
    /// An OpenSSH private key sealed with a passphrase: coffer keeps its
    /// signing key sealed its own way and reads only unencrypted ones.
    case encryptedPrivateKey
    /// An allowed_signers line coffer does not accept, and why.
    case invalidAllowedSigner(String)

    public var description: String {
        switch self {
        case .invalidPublicKey(let text): return "not an ssh-ed25519 public key: \(Quote.public(text))"
        case .unsupportedKeyType(let type): return "\(Quote.public(type)) keys are not supported; coffer signs with ssh-ed25519 keys"
        case .privateKeyAsPublicKey: return "a private key was given where a public key belongs; it is not shown"
        case .invalidNamespace(let reason): return "invalid signature namespace: \(reason)"
        case .invalidArmor(let reason): return "not an SSH signature: \(reason)"
        case .malformedSignature(let reason): return "malformed SSH signature: \(reason)"
        case .unsupportedVersion(let version): return "SSH signature version \(version) is not supported (only 1)"
        case .unsupportedHash(let name): return "SSH signature hash \(Quote.public(name)) is not supported (sha512 or sha256)"
        case .namespaceMismatch(let expected, let found):
            return "the SSH signature is for namespace \(Quote.public(found)), not \(Quote.public(expected))"
        case .signatureMismatch: return "the SSH signature does not match the data: the data or the signature was altered"
        case .invalidPrivateKey(let reason): return "not a usable OpenSSH ed25519 private key: \(reason)"
        case .encryptedPrivateKey: return "the OpenSSH private key is passphrase-protected; coffer reads unencrypted keys only"
        case .invalidAllowedSigner(let reason): return reason
        }
    }
}

/// Public text as an error shows it: quoted, control and non-ASCII bytes
/// escaped so it cannot forge terminal output, and cut short.
enum Quote {
    static func `public`(_ text: String) -> String {
        var out = "\""
        for byte in text.utf8.prefix(120) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\"): out.append(Character(UnicodeScalar(byte)))
            default: out += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
            }
        }
        return out + (text.utf8.count > 120 ? "…\"" : "\"")
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
