import Age
import CSodium
import Synchronization

/// An Ed25519 public key as SSH writes it: `ssh-ed25519 BASE64 [comment]`
/// in authorized_keys and allowed_signers files. Anyone may hold it; it
/// only verifies. Equal keys are equal whatever comment came with them.
public struct SSHEd25519PublicKey: Hashable, Sendable, CustomStringConvertible {
    static let type = "ssh-ed25519"
    /// Longest line accepted: a key line is about 100 bytes, with a comment a few more.
    static let maxLineLength = 4096

    /// The 32-byte Ed25519 public key.
    public let bytes: [UInt8]

    /// Refuses anything but a valid, canonical Ed25519 point (no small-order
    /// key, which could never sign anything of its own).
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32, SSHEd25519PublicKey.isPoint(bytes) else {
            throw SSHSigError.invalidPublicKey("<\(bytes.count)-byte key that is not an Ed25519 point>")
        }
        self.bytes = bytes
    }

    /// A key derived here from its private half: a point by construction.
    init(derived bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self.bytes = bytes
    }

    /// The point check multiplies by the group order: about 0.5 M
    /// instructions, and a `set` meets the same key in the `.signers`
    /// file, this clone's trust record and its own identity. Keys found
    /// valid are remembered for the process (a handful; a key is public).
    private static func isPoint(_ bytes: [UInt8]) -> Bool {
        if checkedPoints.withLock({ $0.contains(bytes) }) { return true }
        Sodium.ensureInitialized()
        guard crypto_core_ed25519_is_valid_point(bytes) == 1 else { return false }
        checkedPoints.withLock { checked in
            if checked.count == 16 { checked.removeFirst() }
            checked.append(bytes)
        }
        return true
    }

    private static let checkedPoints = Mutex<[[UInt8]]>([])

    /// Parses `ssh-ed25519 AAAA… [comment]`, as ssh-keygen writes `.pub` files.
    public init(parsingAuthorizedKey line: String) throws {
        self = try SSHEd25519PublicKey.parse(authorizedKey: line).key
    }

    /// The key and the comment after it, if any. Surrounding blanks and a
    /// final line break are dropped; any other control character is refused.
    public static func parse(authorizedKey line: String) throws -> (key: SSHEd25519PublicKey, comment: String?) {
        if Redaction.looksLikeSecretKey(line) { throw SSHSigError.privateKeyAsPublicKey }
        var text = Substring(line)
        while let last = text.last, last == "\n" || last == "\r\n" || last == "\r" || last == " " || last == "\t" { text = text.dropLast() }
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        guard text.utf8.count <= maxLineLength,
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F })
        else { throw SSHSigError.invalidPublicKey(line) }
        let fields = text.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
        guard let type = fields.first else { throw SSHSigError.invalidPublicKey(line) }
        guard type == SSHEd25519PublicKey.type else {
            throw looksLikeKeyType(type) ? SSHSigError.unsupportedKeyType(String(type)) : SSHSigError.invalidPublicKey(line)
        }
        guard fields.count >= 2, let blob = Base64.decode(Array(fields[1].utf8), padded: true) else {
            throw SSHSigError.invalidPublicKey(line)
        }
        let key = try SSHEd25519PublicKey(wireBlob: blob) { _ in SSHSigError.invalidPublicKey(line) }
        let comment = fields.count > 2 ? String(fields[2]).trimmingBlanks() : ""
        return (key, comment.isEmpty ? nil : comment)
    }

    /// The SSH wire form: string "ssh-ed25519" ‖ string key. `fail` makes
    /// the error for a blob that is not that; another key type is
    /// `unsupportedKeyType`.
    init(wireBlob blob: [UInt8], fail: @escaping (String) -> SSHSigError) throws {
        let key: [UInt8] = try blob.withUnsafeBytes { raw in
            var reader = WireReader(raw, fail: fail)
            let type = String(decoding: try reader.string("key type", limit: 64), as: UTF8.self)
            guard type == SSHEd25519PublicKey.type else {
                throw looksLikeKeyType(Substring(type)) ? SSHSigError.unsupportedKeyType(type) : fail("key type is not ssh-ed25519")
            }
            let key = Array(try reader.string("public key", limit: 32))
            guard key.count == 32, reader.isAtEnd else { throw fail("an ssh-ed25519 key is 32 bytes") }
            return key
        }
        do { try self.init(bytes: key) } catch { throw fail("not an Ed25519 point") }
    }

    /// The SSH wire form, as signatures and fingerprints use it.
    public var wireBlob: [UInt8] { Wire.string(SSHEd25519PublicKey.type) + Wire.string(bytes) }

    /// `ssh-ed25519 BASE64`, without a comment.
    public var authorizedKey: String { SSHEd25519PublicKey.type + " " + Base64.encode(wireBlob, padded: true) }

    /// `SHA256:…` as `ssh-keygen -l` prints it: unpadded base64 of the
    /// SHA-256 of the wire form.
    public var fingerprint: String { "SHA256:" + Base64.encode(Hash.sha256(wireBlob), padded: false) }

    public var description: String { authorizedKey }
}

/// True for the names SSH gives other key types, so they are refused as
/// unsupported rather than as garbage.
func looksLikeKeyType(_ token: Substring) -> Bool {
    token.hasPrefix("ssh-") || token.hasPrefix("ecdsa-") || token.hasPrefix("sk-") || token.hasSuffix("@openssh.com")
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    func trimmingBlanks() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
