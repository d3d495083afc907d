import XCTest
import Age
import AgeSSH
import SSHSig

/// The `ssh-ed25519` recipient type in-process: round trips, the stanza's
/// shape, what is skipped, what is refused.
final class SSHEd25519Tests: XCTestCase {
    func identity() -> SSHEd25519Identity { SSHEd25519Identity(signingKey: .generate()) }

    func fileKey(of result: UnwrapResult, file: StaticString = #filePath, line: UInt = #line) -> [UInt8]? {
        guard case .fileKey(let key) = result else { return nil }
        return key.withUnsafeBytes { Array($0) }
    }

    func assertStanzaError(_ stanzas: [Stanza], _ identity: SSHEd25519Identity, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try identity.unwrap(stanzas), what, file: file, line: line) { error in
            guard case AgeError.invalidStanza(let type, _) = error else {
                return XCTFail("\(what): \(error) is not invalidStanza", file: file, line: line)
            }
            XCTAssertEqual(type, "ssh-ed25519", file: file, line: line)
        }
    }

    func testWrapThenUnwrapGivesTheFileKey() throws {
        let me = identity()
        let key = SecureBytes.random(count: 16)
        let stanzas = try me.recipient.wrap(fileKey: key)
        XCTAssertEqual(fileKey(of: try me.unwrap(stanzas)), key.withUnsafeBytes { Array($0) })
    }

    func testFilesRoundTripAmongOtherRecipients() throws {
        let me = identity()
        let other = identity()
        let x25519 = X25519Identity.generate()
        for size in [0, 1, 65537] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let file = try Age.encrypt(SecureBytes(copying: plaintext), to: [x25519.recipient, other.recipient, me.recipient])
            for reader in [me, other] as [Identity] + [x25519] {
                let opened = try Age.decrypt(file, identities: [reader]).plaintext
                XCTAssertEqual(opened.withUnsafeBytes { Array($0) }, plaintext, "size \(size)")
            }
        }
    }

    /// `-> ssh-ed25519 TAG SHARE`, TAG the first 4 bytes of SHA-256 of the
    /// key's wire form, SHARE 32 bytes, a 32-byte body; a fresh share each time.
    func testTheStanzaIsShapedAsAgeWritesIt() throws {
        let me = identity()
        let first = try me.recipient.wrap(fileKey: .random(count: 16))
        let second = try me.recipient.wrap(fileKey: .random(count: 16))
        XCTAssertEqual(first.count, 1)
        let stanza = first[0]
        XCTAssertEqual(stanza.type, SSHEd25519Recipient.stanzaType)
        XCTAssertEqual(stanza.type, "ssh-ed25519")
        XCTAssertEqual(stanza.arguments.count, 2)
        XCTAssertEqual(stanza.arguments[0], Base64.encode(Digest.sha256(me.recipient.key.wireBlob).prefix(4)))
        XCTAssertEqual(stanza.arguments[0].count, 6)
        XCTAssertEqual(Base64.decode(Array(stanza.arguments[1].utf8))?.count, 32)
        XCTAssertEqual(stanza.body.count, 32)
        XCTAssertNotEqual(stanza.arguments[1], second[0].arguments[1])
    }

    func testAnotherKeysStanzaIsNotMine() throws {
        let me = identity()
        let stanzas = try identity().recipient.wrap(fileKey: .random(count: 16))
        guard case .notMine = try me.unwrap(stanzas) else { return XCTFail("another key's stanza opened") }
        guard case .notMine = try me.unwrap([]) else { return XCTFail("no stanza opened") }
        let x25519 = try X25519Identity.generate().recipient.wrap(fileKey: .random(count: 16))
        guard case .notMine = try me.unwrap(x25519) else { return XCTFail("an X25519 stanza opened") }
        let file = try Age.encrypt(.random(count: 10), to: [identity().recipient])
        XCTAssertThrowsError(try Age.decrypt(file, identities: [me])) { XCTAssertEqual($0 as? AgeError, .noIdentityMatched) }
    }

    /// A stanza carrying this key's tag that does not open is an error, as in
    /// age: two keys that share a tag, or a damaged stanza.
    func testThisKeysTagOnAnotherKeysStanzaIsAnError() throws {
        let me = identity()
        var stanza = try identity().recipient.wrap(fileKey: .random(count: 16))[0]
        stanza.arguments[0] = try me.recipient.wrap(fileKey: .random(count: 16))[0].arguments[0]
        assertStanzaError([stanza], me, "tag collision")
        var damaged = try me.recipient.wrap(fileKey: .random(count: 16))[0]
        damaged.body[5] ^= 1
        assertStanzaError([damaged], me, "damaged body")
    }

    func testMalformedStanzasAreErrors() throws {
        let me = identity()
        let good = try me.recipient.wrap(fileKey: .random(count: 16))[0]
        var cases: [(String, Stanza)] = []
        func variant(_ what: String, _ change: (inout Stanza) -> Void) {
            var s = good
            change(&s)
            cases.append((what, s))
        }
        variant("no arguments") { $0.arguments = [] }
        variant("one argument") { $0.arguments = [good.arguments[0]] }
        variant("three arguments") { $0.arguments.append("AAAA") }
        variant("31-byte share") { $0.arguments[1] = Base64.encode([UInt8](repeating: 9, count: 31)) }
        variant("33-byte share") { $0.arguments[1] = Base64.encode([UInt8](repeating: 9, count: 33)) }
        variant("padded share") { $0.arguments[1] += "=" }
        variant("non-canonical share") {
            var chars = Array($0.arguments[1].utf8)
            // The last of 43 characters carries 2 unused bits; setting one is non-canonical.
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
            chars[42] = alphabet[alphabet.firstIndex(of: chars[42])! | 1]
            $0.arguments[1] = String(decoding: chars, as: UTF8.self)
        }
        variant("empty body") { $0.body = [] }
        variant("31-byte body") { $0.body.removeLast() }
        variant("33-byte body") { $0.body.append(0) }
        for (what, stanza) in cases { assertStanzaError([stanza], me, what) }
        // Malformed arguments are an error whoever the stanza is for (as in age);
        // a body of the wrong length under another key's tag is not looked at.
        var otherTag = good
        otherTag.arguments = ["AAAAAA", "short"]
        assertStanzaError([otherTag], me, "another tag, bad share")
        otherTag.arguments = ["AAAAAA", good.arguments[1]]
        otherTag.body = [1, 2, 3]
        guard case .notMine = try me.unwrap([otherTag]) else { return XCTFail("another tag opened") }
    }

    /// Low-order shares (and their non-canonical encodings) give an all-zero
    /// X25519 result, which must be refused, never used as a key.
    func testLowOrderSharesAreRefused() throws {
        let me = identity()
        let good = try me.recipient.wrap(fileKey: .random(count: 16))[0]
        let p = [0xED] + [UInt8](repeating: 0xFF, count: 30) + [0x7F]
        let lowOrder: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
            hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
            [0xEC] + p.dropFirst(),  // p - 1
            p,  // p, which is 0
            [0xEE] + p.dropFirst(),  // p + 1, which is 1
        ]
        for share in lowOrder {
            var stanza = good
            stanza.arguments[1] = Base64.encode(share)
            assertStanzaError([stanza], me, "share \(share)")
        }
    }

    func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Substring(text)
        while !chars.isEmpty {
            out.append(UInt8(chars.prefix(2), radix: 16)!)
            chars = chars.dropFirst(2)
        }
        return out
    }

    /// A file stock age 1.1.1 wrote (`age -a -R k.pub`) for the key below:
    /// a fixed check of the derivation, the HKDF salt/ikm order included,
    /// that runs even where `age` is not installed.
    func testAFileStockAgeWroteOpens() throws {
        let key = """
            -----BEGIN OPENSSH PRIVATE KEY-----
            b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
            QyNTUxOQAAACDiU43njLhx4KU5lzhH5y/dPuA9QbvwdT6oc67xmLyNjQAAAJiEo/m2hKP5
            tgAAAAtzc2gtZWQyNTUxOQAAACDiU43njLhx4KU5lzhH5y/dPuA9QbvwdT6oc67xmLyNjQ
            AAAEDud8Z/xM+Gm6tP5/momIEwUpJQWSWqUdYwcnSWKuSAMeJTjeeMuHHgpTmXOEfnL90+
            4D1Bu/B1PqhzrvGYvI2NAAAAEGFnZSAxLjEuMSB2ZWN0b3IBAgMEBQ==
            -----END OPENSSH PRIVATE KEY-----

            """
        let file = """
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHNzaC1lZDI1NTE5IHo4L0VQQSBLTzRK
            WGVaNHZ4V2VxY3N0Z2xWekJZTnl6UE5jdFovRTU3R2d6bjgrQ0dnCkwvMlFLV25q
            NnVNQ3ViNkhTcjNDM1N0TmtFaEx1RVhyeDVsd1oxQzl4eFEKLS0tIGNyMHpoeWs3
            cWdjWjcvRWNmTlYzTUZITHNVWmJiUGU1b3p2OXp1cUoxeDQKDhSfo1N40Xb/zyCl
            M3ExTV72ycsBlftxAqKgK3u8xhyMQQLGWlIkmhwjbNwkV4nibCF1iQ==
            -----END AGE ENCRYPTED FILE-----

            """
        let me = try SSHEd25519Identity(openSSHPrivateKey: SecureBytes(copying: Array(key.utf8)))
        XCTAssertEqual(me.recipient, try SSHEd25519Recipient(
            parsing: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJTjeeMuHHgpTmXOEfnL90+4D1Bu/B1PqhzrvGYvI2N age 1.1.1 vector"))
        let opened = try Age.decrypt(Array(file.utf8), identities: [me]).plaintext
        XCTAssertEqual(String(decoding: opened.withUnsafeBytes { Array($0) }, as: UTF8.self), "written by age 1.1.1")
    }

    func testRecipientLines() throws {
        let key = SSHSigningKey.generate().publicKey
        let parsed = try SSHEd25519Recipient(parsing: key.authorizedKey + " someone@example\n")
        XCTAssertEqual(parsed, SSHEd25519Recipient(key))
        XCTAssertEqual(parsed.key, key)
        XCTAssertEqual(parsed.encoded, key.authorizedKey)
        XCTAssertFalse(parsed.encoded.contains("someone"))
        XCTAssertEqual(Set([parsed, SSHEd25519Recipient(key)]).count, 1)

        for (line, type) in [("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCxq6f3xR4HGr3ZUyggMbVV", "ssh-rsa"),
                             ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=", "ecdsa-sha2-nistp256"),
                             ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "sk-ssh-ed25519@openssh.com")] {
            XCTAssertThrowsError(try SSHEd25519Recipient(parsing: line)) { error in
                XCTAssertEqual(error as? AgeSSHError, .unsupportedKeyType(type))
                XCTAssertTrue("\(error)".contains("only ssh-ed25519"), "\(error)")
            }
        }
        for line in ["", "ssh-ed25519", "ssh-ed25519 not-base64", "age1qqqq", "ssh-ed25519 " + Base64.encode(Array("x".utf8), padded: true)] {
            XCTAssertThrowsError(try SSHEd25519Recipient(parsing: line), line) { error in
                guard case AgeSSHError.invalidRecipient = error else { return XCTFail("\(line): \(error)") }
            }
        }
        let privateKey = SSHSigningKey.generate().openSSHPrivateKey().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        XCTAssertThrowsError(try SSHEd25519Recipient(parsing: privateKey)) { error in
            XCTAssertEqual(error as? AgeSSHError, .privateKeyAsRecipient)
            XCTAssertFalse("\(error)".contains("b3BlbnNzaC1rZXktdjE"))
        }
    }

    func testIdentityFromAnOpenSSHKeyFile() throws {
        let key = SSHSigningKey.generate()
        let text = key.openSSHPrivateKey(comment: "mine")
        XCTAssertTrue(SSHEd25519Identity.isOpenSSHPrivateKey(text))
        let me = try SSHEd25519Identity(openSSHPrivateKey: text)
        XCTAssertEqual(me.recipient, SSHEd25519Recipient(key.publicKey))
        XCTAssertEqual(me.signingKey.publicKey, key.publicKey)
        let stanzas = try SSHEd25519Identity(signingKey: key).recipient.wrap(fileKey: .random(count: 16))
        XCTAssertNotNil(fileKey(of: try me.unwrap(stanzas)))
        let signature = try me.signingKey.sign(Array("bundle".utf8), namespace: "file")
        XCTAssertEqual(try SSHSignature.verify(signature, message: Array("bundle".utf8), namespace: "file"), key.publicKey)
    }

    /// However it is printed, an identity shows its public key only.
    func testAnIdentityPrintsRedacted() throws {
        let key = SSHSigningKey.generate()
        let me = try SSHEd25519Identity(openSSHPrivateKey: key.openSSHPrivateKey())
        let body = String(decoding: key.openSSHPrivateKey().withUnsafeBytes { Array($0) }, as: UTF8.self).split(separator: "\n")[3]
        var dumped = ""
        dump(me, to: &dumped)
        for shown in ["\(me)", String(describing: me), String(reflecting: me), dumped] {
            XCTAssertTrue(shown.contains("<redacted>"), shown)
            XCTAssertTrue(shown.contains(key.publicKey.authorizedKey), shown)
            XCTAssertFalse(shown.contains(body.prefix(16)), shown)
        }
        XCTAssertEqual(Mirror(reflecting: me).children.count, 0)
    }

    func testTextThatIsNotAPrivateKeyIsRefusedCleanly() throws {
        let secretText = SSHSigningKey.generate().openSSHPrivateKey().withUnsafeBytes { Array($0) }
        let body = String(decoding: secretText, as: UTF8.self).split(separator: "\n")[2]
        var truncated = secretText
        truncated.removeSubrange(120..<200)
        let cases: [(String, [UInt8], AgeSSHError?)] = [
            ("empty", [], nil),
            ("prose", Array("hello, this is not a key\n".utf8), nil),
            ("age key", Array("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n".utf8), nil),
            ("PEM RSA", Array("-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n".utf8), nil),
            ("leading blank line", [0x0A] + secretText, nil),
            ("truncated", truncated, nil),
            ("no END line", Array(secretText[0..<(secretText.count - 36)]), nil),
            ("public key line", Array((SSHSigningKey.generate().publicKey.authorizedKey + " me@host\n").utf8), .publicKeyAsIdentity),
        ]
        for (what, bytes, expected) in cases {
            XCTAssertThrowsError(try SSHEd25519Identity(openSSHPrivateKey: SecureBytes(copying: bytes)), what) { error in
                if let expected {
                    XCTAssertEqual(error as? AgeSSHError, expected, what)
                } else {
                    guard case AgeSSHError.invalidIdentity = error else { return XCTFail("\(what): \(error)") }
                }
                XCTAssertFalse("\(error)".contains(body.prefix(20)), "\(what): the error quotes the key")
            }
        }
        XCTAssertFalse(SSHEd25519Identity.isOpenSSHPrivateKey(SecureBytes(copying: Array("ssh-ed25519 AAAA".utf8))))
        XCTAssertFalse(SSHEd25519Identity.isOpenSSHPrivateKey(SecureBytes(count: 0)))
    }
}
