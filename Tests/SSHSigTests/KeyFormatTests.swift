import XCTest
import Age
import SSHSig

/// Public key lines, the OpenSSH private key file, and allowed_signers lines.
final class KeyFormatTests: XCTestCase {
    private let key = SSHSigningKey.generate()

    private func assertThrows<T>(_ expected: SSHSigError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { XCTAssertEqual($0 as? SSHSigError, expected, "\($0)", file: file, line: line) }
    }

    func testPublicKeyLines() throws {
        let line = key.publicKey.authorizedKey
        XCTAssertTrue(line.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"))
        XCTAssertEqual(try SSHEd25519PublicKey(parsingAuthorizedKey: line), key.publicKey)
        let parsed = try SSHEd25519PublicKey.parse(authorizedKey: "  \(line)   coffer:alice on laptop \n")
        XCTAssertEqual(parsed.key, key.publicKey)
        XCTAssertEqual(parsed.comment, "coffer:alice on laptop")
        XCTAssertNil(try SSHEd25519PublicKey.parse(authorizedKey: line + "\r\n").comment)
        XCTAssertEqual(key.publicKey.bytes.count, 32)
        XCTAssertTrue(key.publicKey.fingerprint.hasPrefix("SHA256:"))
        XCTAssertEqual(key.publicKey.fingerprint.count, 7 + 43)
        XCTAssertEqual(Set([key.publicKey, try SSHEd25519PublicKey(parsingAuthorizedKey: line + " other comment")]).count, 1)

        assertThrows(.invalidPublicKey("ssh-ed25519")) { try SSHEd25519PublicKey(parsingAuthorizedKey: "ssh-ed25519") }
        assertThrows(.invalidPublicKey("ssh-ed25519 AAAA!")) { try SSHEd25519PublicKey(parsingAuthorizedKey: "ssh-ed25519 AAAA!") }
        assertThrows(.invalidPublicKey("alice")) { try SSHEd25519PublicKey(parsingAuthorizedKey: "alice") }
        assertThrows(.unsupportedKeyType("ecdsa-sha2-nistp256")) { try SSHEd25519PublicKey(parsingAuthorizedKey: "ecdsa-sha2-nistp256 AAAA") }
        assertThrows(.invalidPublicKey(line + "\nx")) { try SSHEd25519PublicKey(parsingAuthorizedKey: line + "\nx") }
        // An ssh-ed25519 label on a blob of another shape, or a point that is not on the curve.
        let rsaBlob = "ssh-ed25519 " + Base64.encode([0, 0, 0, 7] + Array("ssh-rsa".utf8) + [0, 0, 0, 1, 1], padded: true)
        assertThrows(.unsupportedKeyType("ssh-rsa")) { try SSHEd25519PublicKey(parsingAuthorizedKey: rsaBlob) }
        XCTAssertThrowsError(try SSHEd25519PublicKey(bytes: [UInt8](repeating: 0, count: 32)))
        XCTAssertThrowsError(try SSHEd25519PublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31)))

        // A private key pasted where a public one belongs is refused and never quoted.
        let secret = String(decoding: key.openSSHPrivateKey().withUnsafeBytes { Array($0) }, as: UTF8.self)
        for pasted in [secret, String(secret.split(separator: "\n")[1]), "AGE-SECRET-KEY-1QQQQ"] {
            XCTAssertThrowsError(try SSHEd25519PublicKey(parsingAuthorizedKey: pasted)) { error in
                XCTAssertEqual(error as? SSHSigError, .privateKeyAsPublicKey)
                XCTAssertFalse("\(error)".contains(String(secret.split(separator: "\n")[1].prefix(30))))
            }
        }
    }

    func testPrivateKeyFileRoundTrip() throws {
        let text = key.openSSHPrivateKey(comment: "coffer:alice")
        let lines = String(decoding: text.withUnsafeBytes { Array($0) }, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, "-----BEGIN OPENSSH PRIVATE KEY-----")
        XCTAssertEqual(lines.dropLast().last, "-----END OPENSSH PRIVATE KEY-----")
        XCTAssertEqual(lines.last, "")
        XCTAssertTrue(lines.dropFirst().dropLast(2).allSatisfy { $0.count <= 70 })
        XCTAssertTrue(lines[1].hasPrefix("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB"))
        let read = try SSHSigningKey(openSSHPrivateKey: text)
        XCTAssertEqual(read.publicKey, key.publicKey)
        // Both sign alike (Ed25519 is deterministic): the same secret came back.
        XCTAssertEqual(try read.sign([1, 2, 3], namespace: "x"), try key.sign([1, 2, 3], namespace: "x"))
        // Text after the END line is ignored, as OpenSSH ignores it; CRLF is read.
        let crlf = String(decoding: text.withUnsafeBytes { Array($0) }, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n") + "# note\n"
        XCTAssertEqual(try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(crlf.utf8))).publicKey, key.publicKey)
    }

    func testDamagedPrivateKeysAreRefused() throws {
        let good = key.openSSHPrivateKey().withUnsafeBytes { Array($0) }
        let text = String(decoding: good, as: UTF8.self)
        let body = Base64.decode(Array(text.split(separator: "\n").dropFirst().dropLast().joined().utf8), padded: true)!
        func pem(_ blob: [UInt8]) -> SecureBytes {
            let encoded = Base64.encode(blob, padded: true)
            var lines: [String] = []
            var rest = Substring(encoded)
            while !rest.isEmpty { lines.append(String(rest.prefix(70))); rest = rest.dropFirst(70) }
            return SecureBytes(copying: Array(("-----BEGIN OPENSSH PRIVATE KEY-----\n" + lines.joined(separator: "\n") + "\n-----END OPENSSH PRIVATE KEY-----\n").utf8))
        }
        func refused(_ blob: [UInt8], _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
            assertThrows(.invalidPrivateKey(reason), file: file, line: line) { try SSHSigningKey(openSSHPrivateKey: pem(blob)) }
        }
        XCTAssertEqual(try SSHSigningKey(openSSHPrivateKey: pem(body)).publicKey, key.publicKey)
        // Layout: magic 15, "none" 8, "none" 8, "" 4, count 4, public key 4+51, section length 4, check 4+4, …
        let section = 15 + 8 + 8 + 4 + 4 + 55 + 4
        var checks = body
        checks[section] ^= 1
        refused(checks, "the check numbers differ")
        var secret = body
        secret[section + 8 + 15 + 36 + 4] ^= 1  // the seed's first byte: no longer the listed public key's
        refused(secret, "the public half does not belong to the private half")
        var padding = body
        padding[padding.count - 1] ^= 0x40
        refused(padding, "the padding is not 1, 2, 3…")
        refused(body + [0], "trailing bytes after the private section")
        refused(Array(body.dropLast(8)), "private section is cut short")
        var magic = body
        magic[0] = UInt8(ascii: "x")
        refused(magic, "it is not openssh-key-v1")
        assertThrows(.invalidPrivateKey("it has no -----END OPENSSH PRIVATE KEY----- line")) {
            try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(text.split(separator: "\n").dropLast().joined(separator: "\n").utf8)))
        }
        assertThrows(.invalidPrivateKey("it does not start with -----BEGIN OPENSSH PRIVATE KEY-----")) {
            try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(("\n" + text).utf8)))
        }
        assertThrows(.invalidPrivateKey("the body is not base64")) {
            try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(text.replacingOccurrences(of: "b3Bl", with: "b3B\u{AF}").utf8)))
        }
    }

    func testAllowedSignerLines() throws {
        let k = key.publicKey.authorizedKey
        let plain = try AllowedSigner(parsing: "alice \(k)")
        XCTAssertEqual(plain.principals, ["alice"])
        XCTAssertNil(plain.options)
        XCTAssertNil(plain.comment)
        XCTAssertEqual(plain.key, key.publicKey)
        XCTAssertTrue(plain.permits(namespace: "anything", at: 0))

        let rich = try AllowedSigner(parsing: "\t\"Alice Smith,alice@example.com\"  NAMESPACES=\"coffer-bundle,git\",valid-after=\"20200101\"  \(k)   laptop key ")
        XCTAssertEqual(rich.principals, ["Alice Smith", "alice@example.com"])
        XCTAssertEqual(rich.options, "NAMESPACES=\"coffer-bundle,git\",valid-after=\"20200101\"")
        XCTAssertEqual(rich.comment, "laptop key")
        XCTAssertEqual(rich.line, "\"Alice Smith,alice@example.com\" NAMESPACES=\"coffer-bundle,git\",valid-after=\"20200101\" \(k) laptop key")
        XCTAssertEqual(try AllowedSigner(parsing: rich.line), rich)
        XCTAssertTrue(rich.permits(namespace: "git", at: 2_000_000_000))
        XCTAssertFalse(rich.permits(namespace: "file", at: 2_000_000_000))
        XCTAssertFalse(rich.permits(namespace: "git", at: 1_000_000_000))

        let quotedValue = try AllowedSigner(parsing: "a namespaces=\"x \\\"y\\\" z,w\" \(k)")
        XCTAssertEqual(quotedValue.namespaces, "x \"y\" z,w")
        XCTAssertTrue(quotedValue.permits(namespace: "w", at: 0))
        XCTAssertEqual(try AllowedSigner(parsing: "a valid-before=\"19700102000000Z\" \(k)").validBefore, 86400)
        XCTAssertEqual(try AllowedSigner(parsing: "a valid-before=\"19700102UTC\" \(k)").validBefore, 86400)

        for (line, reason) in [
            ("*@example.com \(k)", "principal \"*@example.com\" cannot be used"),
            ("alice,!bob \(k)", "principal \"!bob\" cannot be used"),
            ("alice, \(k)", "principal \"\" cannot be used"),
            ("alice cert-authority \(k)", "cert-authority is not supported"),
            ("alice restrict \(k)", "unknown option"),
            ("alice namespaces=git \(k)", "a value is not in double quotes"),
            ("alice namespaces=\"git\",namespaces=\"x\" \(k)", "namespaces given twice"),
            ("alice valid-after=\"2020\" \(k)", "not a time"),
            ("alice valid-after=\"20200101Z\",valid-before=\"20190101Z\" \(k)", "valid-before is not after valid-after"),
            ("\"alice \(k)", "closing quote is missing"),
            ("alice", "no key"),
        ] {
            XCTAssertThrowsError(try AllowedSigner(parsing: line), line) { error in
                guard case .invalidAllowedSigner(let message)? = error as? SSHSigError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(reason), "\(line): \(message)")
            }
        }
        assertThrows(.unsupportedKeyType("ssh-rsa")) { try AllowedSigner(parsing: "alice ssh-rsa AAAAB3NzaC1yc2E") }
        assertThrows(.invalidPublicKey("ssh-ed25519 AAAA")) { try AllowedSigner(parsing: "alice ssh-ed25519 AAAA") }
        for name in ["", "a,b", "a*", "#a", " a", "a\tb", "a\u{1B}[31m", "a\u{2028}b", String(repeating: "x", count: 257)] {
            XCTAssertThrowsError(try AllowedSigner.checkPrincipal(name), name.debugDescription)
        }
        for name in ["alice", "Alice Smith", "alice@example.com", "José", "ops-ci.deploy_1"] {
            XCTAssertNoThrow(try AllowedSigner.checkPrincipal(name), name)
        }
    }
}
