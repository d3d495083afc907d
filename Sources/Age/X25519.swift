import CSodium

/// An age X25519 public key (`age1…`). Anyone may hold it; it only encrypts.
public struct X25519Recipient: Recipient, Hashable, Sendable {
    static let hrp = "age"
    public static let stanzaType = "X25519"
    static let info = "age-encryption.org/v1/X25519"

    public let publicKey: [UInt8]

    public init(publicKey: [UInt8]) throws {
        guard publicKey.count == 32 else { throw AgeError.invalidRecipient("<\(publicKey.count)-byte key>") }
        self.publicKey = publicKey
    }

    /// Parses `age1…`. The input is public, so errors quote it — unless it is
    /// a private key pasted in the wrong place, which must not be echoed.
    public init(parsing text: String) throws {
        if X25519Recipient.mayBeSecret(text) { throw AgeError.secretKeyAsRecipient }
        guard let (hrp, decoded) = Bech32.decode(text) else { throw AgeError.invalidRecipient(text) }
        let data = decoded.withUnsafeBytes { Array($0) }
        if hrp == "age1pq" || hrp == "age1tag" || hrp == "age1tagpq" {
            throw AgeError.unsupportedKeyType("\(hrp) recipients (post-quantum or hardware keys) are not supported")
        }
        guard hrp == X25519Recipient.hrp, data.count == 32 else { throw AgeError.invalidRecipient(text) }
        publicKey = data
    }

    /// Anything that is not plainly a one-line public key might be a secret
    /// pasted in the wrong place (a key file, a private key): never quote it.
    static func mayBeSecret(_ text: String) -> Bool {
        if text.utf8.count > 200 { return true }
        // ASCII, as every key is: scanned as bytes. Unicode case mapping and
        // grapheme breaking cost ~100,000 instructions a line, and every
        // command parses each scope's readers.
        if let upper = ByteSearch.asciiUppercased(text) {
            return upper.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == 0x0b || $0 == 0x0c }
                || upper.withUnsafeBytes { ByteSearch.contains($0, Array("SECRET-KEY".utf8)) || ByteSearch.contains($0, Array("AGE-PLUGIN-".utf8)) }
        }
        let upper = text.uppercased()
        return upper.contains("SECRET-KEY") || upper.contains("AGE-PLUGIN-") || text.contains(where: \.isNewline)
    }

    /// The canonical `age1…` form.
    public var encoded: String { Bech32.encodeString(hrp: X25519Recipient.hrp, data: publicKey) }

    /// A fresh ephemeral key's public share and its X25519 agreement with
    /// `theirs` (a Montgomery public key); nil for a low-order `theirs`. The
    /// ephemeral scalar is wiped on return.
    public static func ephemeralAgreement(with theirs: [UInt8]) -> (share: [UInt8], shared: SecureBytes)? {
        let ephemeral = SecureBytes.random(count: 32)
        var share = [UInt8](repeating: 0, count: 32)
        let shared = SecureBytes(count: 32)
        let ok = ephemeral.withUnsafeBytes { e -> Bool in
            let eb = e.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard crypto_scalarmult_base(&share, eb) == 0 else { return false }
            return shared.withUnsafeMutableBytes { s in
                crypto_scalarmult(s.baseAddress!.assumingMemoryBound(to: UInt8.self), eb, theirs) == 0
            }
        }
        return ok ? (share, shared) : nil
    }

    public func wrap(fileKey: SecureBytes) throws -> [Stanza] {
        // Fails only for a low-order public key, which no honest recipient has.
        guard let (share, shared) = X25519Recipient.ephemeralAgreement(with: publicKey) else { throw AgeError.invalidRecipient(encoded) }
        let wrapKey = HKDF.deriveKey(ikm: shared, salt: share + publicKey, info: X25519Recipient.info)
        let body = AEAD.wrap(fileKey: fileKey, wrapKey: wrapKey)
        return [Stanza(type: X25519Recipient.stanzaType, arguments: [Base64.encode(share)], body: body)]
    }
}

/// An age X25519 private key (`AGE-SECRET-KEY-1…`). The scalar lives in a
/// wiped buffer and is never printed; errors about it never quote it.
public struct X25519Identity: KeyIdentity {
    static let hrp = "AGE-SECRET-KEY-"

    let secretKey: SecureBytes
    public let recipient: X25519Recipient

    /// A fresh key from the CSPRNG.
    public static func generate() -> X25519Identity {
        try! X25519Identity(secretKey: .random(count: 32))
    }

    public init(secretKey: SecureBytes) throws {
        guard secretKey.count == 32 else { throw AgeError.invalidIdentity("an X25519 key is 32 bytes") }
        var pub = [UInt8](repeating: 0, count: 32)
        let rc = secretKey.withUnsafeBytes { crypto_scalarmult_base(&pub, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        guard rc == 0 else { throw AgeError.invalidIdentity("not a usable X25519 key") }
        self.secretKey = secretKey
        recipient = try X25519Recipient(publicKey: pub)
    }

    /// Parses `AGE-SECRET-KEY-1…` (uppercase, as age writes it).
    public init(parsing text: String) throws {
        try self.init(parsing: Array(text.utf8))
    }

    /// Parses the Bech32 form from bytes, so callers can keep it out of `String`s.
    public init<C: Collection>(parsing text: C) throws where C.Element == UInt8 {
        guard let (hrp, data) = Bech32.decode(text) else {
            throw AgeError.invalidIdentity("not a valid AGE-SECRET-KEY-1 string")
        }
        if hrp == "AGE-SECRET-KEY-PQ-" {
            throw AgeError.unsupportedKeyType("post-quantum hybrid identities (AGE-SECRET-KEY-PQ-1…) are not supported")
        }
        guard hrp == X25519Identity.hrp, data.count == 32 else {
            throw AgeError.invalidIdentity("not a valid AGE-SECRET-KEY-1 string")
        }
        try self.init(secretKey: data)
    }

    /// The Bech32 form (`AGE-SECRET-KEY-1…`), for writing an identity file.
    public func encodedSecretKey() -> SecureBytes {
        var raw = [UInt8](repeating: 0, count: secretKey.count)
        raw.withUnsafeMutableBytes { r in secretKey.withUnsafeBytes { r.copyMemory(from: $0) } }
        defer { Bech32.wipe(&raw) }
        var text = Bech32.encode(hrp: X25519Identity.hrp, data: raw)
        defer { Bech32.wipe(&text) }
        return SecureBytes(copying: text)
    }

    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        for stanza in stanzas where stanza.type == X25519Recipient.stanzaType {
            guard stanza.arguments.count == 1 else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "expected one argument")
            }
            guard let share = Base64.decode(Array(stanza.arguments[0].utf8)), share.count == 32 else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "ephemeral share is not 32 bytes of canonical base64")
            }
            guard stanza.body.count == AEAD.wrappedFileKeySize else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "wrapped key is not 32 bytes")
            }
            let shared = SecureBytes(count: 32)
            // libsodium returns -1 when the result is all zeros (a low-order share).
            let rc = secretKey.withUnsafeBytes { sk in
                shared.withUnsafeMutableBytes { s in
                    crypto_scalarmult(s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                      sk.baseAddress!.assumingMemoryBound(to: UInt8.self), share)
                }
            }
            guard rc == 0 else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "low-order ephemeral share")
            }
            let wrapKey = HKDF.deriveKey(ikm: shared, salt: share + recipient.publicKey, info: X25519Recipient.info)
            if let fileKey = AEAD.unwrap(body: stanza.body, wrapKey: wrapKey) {
                return .fileKey(fileKey)
            }
        }
        return .notMine
    }
}
