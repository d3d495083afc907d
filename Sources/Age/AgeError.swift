/// Every way the age layer fails. Cases carry structure (stanza types, chunk
/// numbers, fixed reasons) and public input only — never key bytes, file keys,
/// passphrases or plaintext.
public enum AgeError: Error, Equatable, Sendable {
    /// The header does not follow the v1 grammar.
    case malformedHeader(String)
    /// The file is an age file of a version this implementation does not read.
    case unsupportedVersion(String)
    /// A recognised stanza is malformed (wrong arguments, bad share, long body…).
    case invalidStanza(type: String, reason: String)
    /// A passphrase stanza shares the header with other stanzas.
    case scryptNotAlone
    /// The passphrase stanza asks for more work than the configured ceiling.
    case workFactorTooHigh(logN: Int, max: Int)
    /// No identity could unwrap any stanza.
    case noIdentityMatched
    /// A file key was unwrapped but the header MAC does not match it.
    case headerMACMismatch
    /// The header ends before the 16-byte payload nonce.
    case missingNonce
    /// A payload chunk failed authentication or the chunk sequence is invalid.
    case payloadCorrupted(chunk: Int, reason: String)
    /// The ASCII armor is not the strict PEM age expects.
    case invalidArmor(String)
    /// A recipient string could not be parsed; the public input is quoted.
    case invalidRecipient(String)
    /// A private key was given where a recipient belongs; it is never quoted.
    case secretKeyAsRecipient
    /// A line of a recipients file is not a recipient; its text is not quoted.
    case invalidRecipientLine(Int)
    /// An identity could not be parsed. The input is secret, so it is never quoted.
    case invalidIdentity(String)
    /// A well-formed key of a kind this build cannot use (e.g. post-quantum hybrid).
    case unsupportedKeyType(String)
    /// The recipients given for encryption cannot be combined.
    case invalidRecipientSet(String)
    /// An underlying read or write failed with this errno.
    case io(operation: String, errno: Int32)
    /// A libsodium primitive reported failure.
    case cryptoFailure(String)

    /// The class of failure, as the age test kit names them.
    public var kind: Kind {
        switch self {
        case .malformedHeader, .unsupportedVersion, .invalidStanza, .scryptNotAlone,
             .workFactorTooHigh, .missingNonce:
            return .header
        case .noIdentityMatched: return .noMatch
        case .headerMACMismatch: return .headerMAC
        case .payloadCorrupted: return .payload
        case .invalidArmor: return .armor
        case .invalidRecipient, .secretKeyAsRecipient, .invalidRecipientLine, .invalidIdentity, .unsupportedKeyType, .invalidRecipientSet:
            return .key
        case .io, .cryptoFailure: return .other
        }
    }

    public enum Kind: String, Sendable {
        case header, noMatch, headerMAC, payload, armor, key, other
    }
}

extension AgeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .malformedHeader(let why): return "malformed age header: \(why)"
        case .unsupportedVersion(let v): return "unsupported age format version \"\(v)\""
        case .invalidStanza(let type, let why): return "invalid \(type) stanza: \(why)"
        case .scryptNotAlone: return "a passphrase (scrypt) stanza must be the only stanza in the header"
        case .workFactorTooHigh(let logN, let max):
            return "passphrase work factor 2^\(logN) exceeds the limit 2^\(max)"
        case .noIdentityMatched: return "no identity matched any of the file's recipients"
        case .headerMACMismatch: return "header MAC does not match: the header was altered"
        case .missingNonce: return "file ends before the payload nonce"
        case .payloadCorrupted(let chunk, let why): return "payload chunk \(chunk) is corrupt: \(why)"
        case .invalidArmor(let why): return "invalid armor: \(why)"
        case .invalidRecipient(let input): return "invalid recipient \"\(input)\""
        case .secretKeyAsRecipient: return "a secret key was given where a recipient (age1…) belongs"
        case .invalidRecipientLine(let n): return "line \(n) is not a valid recipient (age1…)"
        case .invalidIdentity(let why): return "invalid identity: \(why)"
        case .unsupportedKeyType(let what): return "unsupported key type: \(what)"
        case .invalidRecipientSet(let why): return "invalid recipients: \(why)"
        case .io(let op, let errno): return "\(op) failed (errno \(errno))"
        case .cryptoFailure(let what): return "cryptographic operation failed: \(what)"
        }
    }
}
