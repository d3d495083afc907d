import Age
import CSodium
import SSHSig

/// An SSH Ed25519 public key as an age recipient (age's `ssh-ed25519` type):
/// files sealed to it open only with the matching OpenSSH private key. The
/// shared secret is tweaked with the whole SSH key, so a stanza is bound to
/// that key and not merely to its X25519 equivalent.
public struct SSHEd25519Recipient: Recipient, Hashable, Sendable {
    public static let stanzaType = "ssh-ed25519"
    static let info = "age-encryption.org/v1/ssh-ed25519"

    public let key: SSHEd25519PublicKey

    public init(_ key: SSHEd25519PublicKey) {
        self.key = key
    }

    /// Parses `ssh-ed25519 AAAA… [comment]` (a `.pub` file's line). The input
    /// is public, so errors quote it — unless it holds a private key.
    public init(parsing line: String) throws {
        do {
            self.init(try SSHEd25519PublicKey.parse(authorizedKey: line).key)
        } catch SSHSigError.unsupportedKeyType(let type) {
            throw AgeSSHError.unsupportedKeyType(type)
        } catch SSHSigError.privateKeyAsPublicKey {
            throw AgeSSHError.privateKeyAsRecipient
        } catch let error as SSHSigError {
            throw AgeSSHError.invalidRecipient(error.description)
        }
    }

    /// `ssh-ed25519 BASE64`, without a comment.
    public var encoded: String { key.authorizedKey }

    /// The stanza's first argument: base64 of the first 4 bytes of SHA-256 of
    /// the key's wire form. It only lets an identity skip stanzas that are not
    /// its own; two keys may share one.
    var tag: String { Base64.encode(Digest.sha256(key.wireBlob).prefix(4)) }

    public func wrap(fileKey: SecureBytes) throws -> [Stanza] {
        guard let theirs = SSHEd25519Recipient.montgomeryKey(key) else { throw AgeSSHError.invalidRecipient("not a usable Ed25519 key") }
        // Fails only for a low-order point, which SSHEd25519PublicKey never holds.
        guard let (share, shared) = X25519Recipient.ephemeralAgreement(with: theirs) else {
            throw AgeSSHError.invalidRecipient("not a usable Ed25519 key")
        }
        guard let wrapKey = SSHEd25519Recipient.wrapKey(shared: shared, share: share, montgomeryKey: theirs, wire: key.wireBlob) else {
            throw AgeSSHError.invalidRecipient("not a usable Ed25519 key")
        }
        let body = AEAD.wrap(fileKey: fileKey, wrapKey: wrapKey)
        return [Stanza(type: SSHEd25519Recipient.stanzaType, arguments: [tag, Base64.encode(share)], body: body)]
    }

    /// The key's X25519 form (the birational map from Edwards to Montgomery);
    /// nil only for points libsodium refuses (small order, off the curve).
    static func montgomeryKey(_ key: SSHEd25519PublicKey) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_sign_ed25519_pk_to_curve25519(&out, key.bytes) == 0 ? out : nil
    }

    /// What both sides do once X25519 has given `shared`: multiply it by a
    /// tweak derived from the SSH key, then derive the wrap key. The SSH key
    /// is the tweak's HKDF *salt* and the input key material is empty, as
    /// agessh.go has it; swapped, stock age cannot open the file. Nil when the
    /// tweaked secret is all zeros.
    static func wrapKey(shared: SecureBytes, share: [UInt8], montgomeryKey: [UInt8], wire: [UInt8]) -> SecureBytes? {
        let tweak = HKDF.deriveKey(ikm: SecureBytes(count: 0), salt: wire, info: info)
        let tweaked = SecureBytes(count: 32)
        let rc = tweak.withUnsafeBytes { t in
            shared.withUnsafeBytes { s in
                tweaked.withUnsafeMutableBytes { out in
                    crypto_scalarmult(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                      t.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                      s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard rc == 0 else { return nil }
        return HKDF.deriveKey(ikm: tweaked, salt: share + montgomeryKey, info: info)
    }
}

/// An identity that names the SSH key it opens stanzas for: an OpenSSH key
/// opened here, or one an agent holds and never hands out (Age's
/// `KeyIdentity` for X25519). Its `recipient` is public.
public protocol SSHKeyIdentity: Identity {
    var recipient: SSHEd25519Recipient { get }
}

/// An OpenSSH Ed25519 private key as an age identity. The key lives in wiped
/// buffers (`SSHSigningKey`, and its X25519 scalar here) and is never printed;
/// errors about it never quote it. The same key signs (`signingKey`).
public final class SSHEd25519Identity: SSHKeyIdentity, Redacted {
    static let pemBegin = Array("-----BEGIN OPENSSH PRIVATE KEY-----".utf8)

    public let signingKey: SSHSigningKey
    public let recipient: SSHEd25519Recipient
    private let scalar: SecureBytes
    private let montgomeryKey: [UInt8]
    private let tag: String

    public init(signingKey: SSHSigningKey) {
        self.signingKey = signingKey
        recipient = SSHEd25519Recipient(signingKey.publicKey)
        scalar = signingKey.curve25519SecretKey()
        var ours = [UInt8](repeating: 0, count: 32)
        let rc = scalar.withUnsafeBytes { crypto_scalarmult_base(&ours, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        // A clamped scalar is never a multiple of the group order, so the product is never zero.
        precondition(rc == 0, "crypto_scalarmult_base failed")
        montgomeryKey = ours
        tag = recipient.tag
    }

    /// Reads an OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`)
    /// holding one unencrypted ssh-ed25519 key, as `ssh-keygen -t ed25519 -N ''`
    /// writes it.
    public convenience init(openSSHPrivateKey bytes: SecureBytes) throws {
        guard SSHEd25519Identity.isOpenSSHPrivateKey(bytes) else { throw SSHEd25519Identity.misplacedText(bytes) }
        let key: SSHSigningKey
        do {
            key = try SSHSigningKey(openSSHPrivateKey: bytes)
        } catch SSHSigError.encryptedPrivateKey {
            throw AgeSSHError.encryptedKey
        } catch SSHSigError.unsupportedKeyType(let type) {
            throw AgeSSHError.unsupportedKeyType(type)
        } catch SSHSigError.invalidPrivateKey(let why) {
            throw AgeSSHError.invalidIdentity(why)
        } catch is SSHSigError {
            throw AgeSSHError.invalidIdentity("it does not follow OpenSSH's private key format")
        }
        self.init(signingKey: key)
    }

    public var redactedDescription: String { "SSHEd25519Identity(<redacted>, \(recipient.encoded))" }

    /// True when the bytes start as an OpenSSH private key file does (its
    /// PEM BEGIN line), so identity files can be routed by their content.
    public static func isOpenSSHPrivateKey(_ bytes: SecureBytes) -> Bool {
        bytes.withUnsafeBytes { $0.starts(with: pemBegin) }
    }

    /// The error for text that is not an OpenSSH private key file, judged
    /// from its first bytes only.
    private static func misplacedText(_ bytes: SecureBytes) -> AgeSSHError {
        bytes.withUnsafeBytes { raw in
            let text = raw.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            let publicPrefixes = ["ssh-", "ecdsa-", "sk-"].map { Array($0.utf8) }
            if publicPrefixes.contains(where: { text.starts(with: $0) }) { return .publicKeyAsIdentity }
            if text.starts(with: pemBegin) { return .invalidIdentity("text before the -----BEGIN OPENSSH PRIVATE KEY----- line") }
            if text.starts(with: Array("-----BEGIN ".utf8)) {
                return .invalidIdentity("a PEM key in another format than OpenSSH's; only OpenSSH ssh-ed25519 keys are supported")
            }
            return .invalidIdentity("it does not start with -----BEGIN OPENSSH PRIVATE KEY-----")
        }
    }

    /// Opens the first stanza addressed to this key. Like age: a malformed
    /// `ssh-ed25519` stanza is an error whoever it is for; a well-formed one
    /// with another key's tag is skipped; one with this key's tag that does
    /// not open is an error (another key with the same tag, or damage).
    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        let type = SSHEd25519Recipient.stanzaType
        for stanza in stanzas where stanza.type == type {
            guard stanza.arguments.count == 2 else {
                throw AgeError.invalidStanza(type: type, reason: "expected two arguments")
            }
            guard let share = Base64.decode(Array(stanza.arguments[1].utf8)), share.count == 32 else {
                throw AgeError.invalidStanza(type: type, reason: "ephemeral share is not 32 bytes of canonical base64")
            }
            guard stanza.arguments[0] == tag else { continue }
            guard stanza.body.count == AEAD.wrappedFileKeySize else {
                throw AgeError.invalidStanza(type: type, reason: "wrapped key is not 32 bytes")
            }
            let shared = SecureBytes(count: 32)
            // libsodium returns -1 when the result is all zeros (a low-order share).
            let rc = scalar.withUnsafeBytes { x in
                shared.withUnsafeMutableBytes { s in
                    crypto_scalarmult(s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                      x.baseAddress!.assumingMemoryBound(to: UInt8.self), share)
                }
            }
            guard rc == 0,
                  let wrapKey = SSHEd25519Recipient.wrapKey(shared: shared, share: share, montgomeryKey: montgomeryKey,
                                                            wire: recipient.key.wireBlob)
            else { throw AgeError.invalidStanza(type: type, reason: "low-order ephemeral share") }
            guard let fileKey = AEAD.unwrap(body: stanza.body, wrapKey: wrapKey) else {
                throw AgeError.invalidStanza(type: type, reason: "the wrapped key does not open with the key its tag names")
            }
            return .fileKey(fileKey)
        }
        return .notMine
    }
}
