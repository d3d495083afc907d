import CSodium

/// Seals a file key under a passphrase with scrypt (N = 2^logN, r = 8, p = 1).
/// Its stanza must be the only one in the header.
public struct ScryptRecipient: Recipient {
    static let stanzaType = "scrypt"
    static let saltLabel = Array("age-encryption.org/v1/scrypt".utf8)
    /// age's default: about a second on a laptop, 256 MiB of memory.
    public static let defaultWorkFactor = 18

    let passphrase: SecureBytes
    public let workFactor: Int

    public init(passphrase: SecureBytes, workFactor: Int = ScryptRecipient.defaultWorkFactor) throws {
        guard passphrase.count > 0 else { throw AgeError.invalidRecipientSet("the passphrase is empty") }
        guard (1...ScryptIdentity.defaultMaxWorkFactor).contains(workFactor) else {
            throw AgeError.invalidRecipientSet("work factor must be between 1 and \(ScryptIdentity.defaultMaxWorkFactor)")
        }
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    public var mustBeAlone: Bool { true }

    public func wrap(fileKey: SecureBytes) throws -> [Stanza] {
        var salt = [UInt8](repeating: 0, count: 16)
        randombytes_buf(&salt, salt.count)
        let wrapKey = try Scrypt.deriveKey(passphrase: passphrase, salt: salt, logN: workFactor)
        let body = AEAD.wrap(fileKey: fileKey, wrapKey: wrapKey)
        return [Stanza(type: ScryptRecipient.stanzaType, arguments: [Base64.encode(salt), String(workFactor)], body: body)]
    }
}

/// Opens a passphrase stanza. A wrong passphrase is "not mine"; a malformed
/// stanza or a work factor above the ceiling is an error.
public struct ScryptIdentity: Identity {
    /// The ceiling age applies: 2^22 costs several seconds and 4 GiB, and a file
    /// asking for more is treated as an attempt to exhaust the reader.
    public static let defaultMaxWorkFactor = 22

    let passphrase: SecureBytes
    public let maxWorkFactor: Int

    /// `maxWorkFactor` is clamped to 30 (2^30 × 1 KiB of memory): above that a
    /// hostile file could only exhaust the reader.
    public init(passphrase: SecureBytes, maxWorkFactor: Int = ScryptIdentity.defaultMaxWorkFactor) {
        self.passphrase = passphrase
        self.maxWorkFactor = min(maxWorkFactor, 30)
    }

    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        if stanzas.contains(where: { $0.type == ScryptRecipient.stanzaType }) && stanzas.count != 1 {
            throw AgeError.scryptNotAlone
        }
        for stanza in stanzas where stanza.type == ScryptRecipient.stanzaType {
            guard stanza.arguments.count == 2 else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "expected two arguments")
            }
            guard let salt = Base64.decode(Array(stanza.arguments[0].utf8)), salt.count == 16 else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "salt is not 16 bytes of canonical base64")
            }
            let logN = try Scrypt.parseWorkFactor(stanza.arguments[1])
            guard logN <= maxWorkFactor else { throw AgeError.workFactorTooHigh(logN: logN, max: maxWorkFactor) }
            guard stanza.body.count == FileKey.size + AEAD.tagSize else {
                throw AgeError.invalidStanza(type: stanza.type, reason: "wrapped key is not 32 bytes")
            }
            let wrapKey = try Scrypt.deriveKey(passphrase: passphrase, salt: salt, logN: logN)
            if let fileKey = AEAD.unwrap(body: stanza.body, wrapKey: wrapKey) {
                return .fileKey(fileKey)
            }
        }
        return .notMine
    }
}

enum Scrypt {
    /// Decimal, no sign, no leading zero, at least 1: the only encoding age allows.
    static func parseWorkFactor(_ text: String) throws -> Int {
        let digits = Array(text.utf8)
        guard let first = digits.first, first >= 0x31, first <= 0x39,
              digits.count <= 2, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(text), value >= 1
        else { throw AgeError.invalidStanza(type: ScryptRecipient.stanzaType, reason: "invalid work factor") }
        return value
    }

    static func deriveKey(passphrase: SecureBytes, salt: [UInt8], logN: Int) throws -> SecureBytes {
        precondition(logN >= 1 && logN < 64)
        let key = SecureBytes(count: 32)
        let fullSalt = ScryptRecipient.saltLabel + salt
        let rc = passphrase.withUnsafeBytes { p in
            key.withUnsafeMutableBytes { k in
                crypto_pwhash_scryptsalsa208sha256_ll(
                    // SecureBytes always owns at least one byte, so the address exists.
                    p.baseAddress!.assumingMemoryBound(to: UInt8.self), p.count,
                    fullSalt, fullSalt.count, UInt64(1) << UInt64(logN), 8, 1,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            }
        }
        guard rc == 0 else { throw AgeError.cryptoFailure("scrypt (work factor 2^\(logN)) could not run") }
        return key
    }
}
