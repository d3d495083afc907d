import Age
import CSodium

/// SSH signatures in OpenSSH's SSHSIG format (PROTOCOL.sshsig), the one
/// `ssh-keygen -Y sign|verify` and git's SSH signing use: an Ed25519
/// signature over "SSHSIG" ‖ string namespace ‖ string "" ‖ string hash
/// name ‖ string H(message), never over the message alone, so a signature
/// made for one namespace (one use) is never valid for another.
public enum SSHSignature {
    /// What hashes the message before it is signed.
    public enum HashAlgorithm: String, Sendable, CaseIterable {
        case sha512, sha256

        func digest(_ message: [UInt8]) -> [UInt8] {
            switch self {
            case .sha512: return Hash.sha512(message)
            case .sha256: return Hash.sha256(message)
            }
        }
    }

    static let magic = Array("SSHSIG".utf8)
    static let version: UInt32 = 1
    static let begin = "-----BEGIN SSH SIGNATURE-----"
    static let end = "-----END SSH SIGNATURE-----"
    /// An Ed25519 signature is under 300 bytes armored; more is not one.
    static let maxArmoredLength = 4096
    static let maxNamespaceLength = 256

    /// Checks `armored` as the signature of `message` for `namespace` and
    /// returns the key that made it. Whether that key is trusted is the
    /// caller's question (an allowed-signers list): anyone can make a
    /// valid signature with a key of their own.
    ///
    /// Parsing is strict: one armored block, version 1, a non-empty
    /// reserved field refused (OpenSSH never writes one, and it would give
    /// one signature two encodings), hash sha512 or sha256, key and
    /// signature type ssh-ed25519 only, no trailing bytes.
    public static func verify(_ armored: String, message: [UInt8], namespace: String) throws -> SSHEd25519PublicKey {
        try verify(armored: Array(armored.utf8), message: message, namespace: namespace)
    }

    /// `verify` over the armored text's bytes, as read from a file.
    public static func verify(armored: [UInt8], message: [UInt8], namespace: String) throws -> SSHEd25519PublicKey {
        try checkNamespace(namespace)
        let parsed = try Parsed(blob: try dearmor(armored))
        guard parsed.namespace == namespace else { throw SSHSigError.namespaceMismatch(expected: namespace, found: parsed.namespace) }
        let signed = signedData(namespace: namespace, hash: parsed.hash, digest: parsed.hash.digest(message))
        Sodium.ensureInitialized()
        let rc = crypto_sign_verify_detached(parsed.signature, signed, UInt64(signed.count), parsed.key.bytes)
        guard rc == 0 else { throw SSHSigError.signatureMismatch }
        return parsed.key
    }

    /// The fields of a signature blob, checked.
    struct Parsed {
        let key: SSHEd25519PublicKey
        let namespace: String
        let hash: HashAlgorithm
        let signature: [UInt8]

        init(blob: [UInt8]) throws {
            let fail = { SSHSigError.malformedSignature($0) }
            (key, namespace, hash, signature) = try blob.withUnsafeBytes { raw in
                var reader = WireReader(raw, fail: fail)
                guard try reader.bytes(6, "magic").elementsEqual(SSHSignature.magic) else { throw fail("it does not start with SSHSIG") }
                let version = try reader.u32("version")
                guard version == SSHSignature.version else { throw SSHSigError.unsupportedVersion(version) }
                let key = try SSHEd25519PublicKey(wireBlob: Array(try reader.string("public key", limit: 1024))) { fail("public key: " + $0) }
                let namespaceBytes = try reader.string("namespace", limit: SSHSignature.maxNamespaceLength)
                guard let namespace = String(validating: namespaceBytes, as: UTF8.self) else { throw fail("the namespace is not UTF-8") }
                guard try reader.string("reserved", limit: 1024).isEmpty else { throw fail("the reserved field is not empty") }
                let hashName = String(decoding: try reader.string("hash algorithm", limit: 64), as: UTF8.self)
                guard let hash = HashAlgorithm(rawValue: hashName) else { throw SSHSigError.unsupportedHash(hashName) }
                var sig = WireReader(try reader.string("signature", limit: 1024), fail: fail)
                let type = String(decoding: try sig.string("signature type", limit: 64), as: UTF8.self)
                guard type == SSHEd25519PublicKey.type else {
                    throw looksLikeKeyType(Substring(type)) ? SSHSigError.unsupportedKeyType(type) : fail("signature type is not ssh-ed25519")
                }
                let signature = Array(try sig.string("signature", limit: 64))
                guard signature.count == 64, sig.isAtEnd else { throw fail("an ssh-ed25519 signature is 64 bytes") }
                guard reader.isAtEnd else { throw fail("trailing bytes after the signature") }
                return (key, namespace, hash, signature)
            }
        }
    }

    /// What Ed25519 signs (PROTOCOL.sshsig §3).
    static func signedData(namespace: String, hash: HashAlgorithm, digest: [UInt8]) -> [UInt8] {
        magic + Wire.string(namespace) + Wire.string([]) + Wire.string(hash.rawValue) + Wire.string(digest)
    }

    /// Non-empty, at most 256 bytes, no control characters: a name for a use
    /// (`coffer-bundle`, `git`, `file`).
    static func checkNamespace(_ namespace: String) throws {
        guard !namespace.isEmpty else { throw SSHSigError.invalidNamespace("it is empty") }
        guard namespace.utf8.count <= maxNamespaceLength else { throw SSHSigError.invalidNamespace("it is over \(maxNamespaceLength) bytes") }
        guard !namespace.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw SSHSigError.invalidNamespace("it holds control characters")
        }
    }

    /// As OpenSSH armors it: the BEGIN line, base64 in lines of 70, the END line.
    static func armor(_ blob: [UInt8]) -> String {
        SSHSignature.begin + "\n" + Armor.wrap(Base64.encode(blob, padded: true)) + SSHSignature.end + "\n"
    }

    /// The blob inside one armored block: the BEGIN line first (LF or CRLF
    /// endings), lines of base64 (at most 76 characters, as the format
    /// allows), the END line, then nothing but line breaks.
    static func dearmor(_ text: [UInt8]) throws -> [UInt8] {
        guard text.count <= maxArmoredLength else { throw SSHSigError.invalidArmor("over \(maxArmoredLength) bytes") }
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map { $0.last == 0x0D ? $0.dropLast() : $0 }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first, first.elementsEqual(begin.utf8) else { throw SSHSigError.invalidArmor("it does not start with \(begin)") }
        guard lines.count >= 3, lines.last!.elementsEqual(end.utf8) else { throw SSHSigError.invalidArmor("it does not end with \(end)") }
        var body: [UInt8] = []
        for line in lines[1..<(lines.count - 1)] {
            guard !line.isEmpty, line.count <= 76 else { throw SSHSigError.invalidArmor("a base64 line is empty or over 76 characters") }
            body += line
        }
        guard let blob = Base64.decode(body, padded: true) else { throw SSHSigError.invalidArmor("the body is not canonical base64") }
        return blob
    }
}

/// Base64 in lines as OpenSSH writes them (`sshbuf_dtob64` with wrapping).
enum Armor {
    static let width = 70

    /// `text` cut into lines of `width`, each ending in a line break.
    static func wrap(_ text: String) -> String {
        var out = ""
        var line = Substring(text)
        while !line.isEmpty {
            out += line.prefix(width) + "\n"
            line = line.dropFirst(width)
        }
        return out
    }
}
