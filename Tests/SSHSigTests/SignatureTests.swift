import XCTest
import Age
import SSHSig

/// SSHSIG parsing and verification, refusals included (no external tools).
final class SignatureTests: XCTestCase {
    private let key = SSHSigningKey.generate()
    private let message = Array("the manifest".utf8)

    private func assertRefused(_ armored: String, _ expected: SSHSigError, message: [UInt8]? = nil, namespace: String = "coffer-bundle",
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SSHSignature.verify(armored, message: message ?? self.message, namespace: namespace), file: file, line: line) {
            XCTAssertEqual($0 as? SSHSigError, expected, "\($0)", file: file, line: line)
        }
    }

    /// The blob inside an armored signature, and the armor around a blob.
    private func blob(_ armored: String) -> [UInt8] {
        Base64.decode(Array(armored.split(separator: "\n").dropFirst().dropLast().joined().utf8), padded: true)!
    }

    private func armor(_ blob: [UInt8]) -> String {
        let text = Base64.encode(blob, padded: true)
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty { lines.append(String(rest.prefix(70))); rest = rest.dropFirst(70) }
        return "-----BEGIN SSH SIGNATURE-----\n" + lines.joined(separator: "\n") + "\n-----END SSH SIGNATURE-----\n"
    }

    private func string(_ bytes: [UInt8]) -> [UInt8] {
        let n = UInt32(bytes.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }

    private func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }

    /// A blob built field by field, to make the malformed ones.
    private func blob(version: UInt32 = 1, key: [UInt8]? = nil, namespace: String = "coffer-bundle", reserved: [UInt8] = [],
                      hash: String = "sha512", signature: [UInt8]? = nil, trailing: [UInt8] = []) -> [UInt8] {
        let good = blob(try! self.key.sign(message, namespace: namespace))
        // The signature field is the last 4 + 83 bytes of a good blob.
        let goodSignature = Array(good.suffix(83))
        return Array("SSHSIG".utf8) + [0, 0, 0, UInt8(version)] + string(key ?? self.key.publicKey.wireBlob) + string(namespace)
            + string(reserved) + string(hash) + string(signature ?? goodSignature) + trailing
    }

    func testSignAndVerify() throws {
        for hash in SSHSignature.HashAlgorithm.allCases {
            let armored = try key.sign(message, namespace: "coffer-bundle", hash: hash)
            XCTAssertTrue(armored.hasPrefix("-----BEGIN SSH SIGNATURE-----\n"))
            XCTAssertTrue(armored.hasSuffix("\n-----END SSH SIGNATURE-----\n"))
            XCTAssertTrue(armored.split(separator: "\n").allSatisfy { $0.count <= 70 })
            XCTAssertEqual(try SSHSignature.verify(armored, message: message, namespace: "coffer-bundle"), key.publicKey)
            XCTAssertEqual(try SSHSignature.verify(armored: Array(armored.utf8), message: message, namespace: "coffer-bundle"), key.publicKey)
            // CRLF line endings, as a file passed through Windows might have.
            XCTAssertEqual(try SSHSignature.verify(armored.replacingOccurrences(of: "\n", with: "\r\n"), message: message, namespace: "coffer-bundle"),
                           key.publicKey)
        }
    }

    func testTamperedMessageWrongNamespaceAndAnotherKey() throws {
        let armored = try key.sign(message, namespace: "coffer-bundle")
        assertRefused(armored, .signatureMismatch, message: message + [0])
        assertRefused(armored, .signatureMismatch, message: [])
        assertRefused(armored, .namespaceMismatch(expected: "git", found: "coffer-bundle"), namespace: "git")
        // Verifying names the signer: another key's signature is valid, and names that key, not ours.
        let other = SSHSigningKey.generate()
        let theirs = try SSHSignature.verify(try other.sign(message, namespace: "coffer-bundle"), message: message, namespace: "coffer-bundle")
        XCTAssertEqual(theirs, other.publicKey)
        XCTAssertNotEqual(theirs, key.publicKey)
        // Another key put in place of the signer's does not verify the signer's signature.
        assertRefused(armor(blob(key: other.publicKey.wireBlob)), .signatureMismatch)
        // A flipped bit anywhere in the signature fails.
        var flipped = blob(armored)
        flipped[flipped.count - 1] ^= 1
        assertRefused(armor(flipped), .signatureMismatch)
    }

    func testSHA256Signatures() throws {
        let armored = try key.sign(message, namespace: "file", hash: .sha256)
        XCTAssertTrue(String(decoding: blob(armored), as: UTF8.self).contains("sha256"))
        XCTAssertEqual(try SSHSignature.verify(armored, message: message, namespace: "file"), key.publicKey)
        // The hash name is signed: relabelling a sha256 signature as sha512 breaks it.
        var relabelled = blob(armored)
        let at = try XCTUnwrap((0..<relabelled.count - 6).first { relabelled[$0..<($0 + 6)].elementsEqual("sha256".utf8) })
        relabelled.replaceSubrange(at..<(at + 6), with: "sha512".utf8)
        assertRefused(armor(relabelled), .signatureMismatch, namespace: "file")
    }

    func testTruncatedAndGarbledArmor() throws {
        let armored = try key.sign(message, namespace: "coffer-bundle")
        let lines = armored.split(separator: "\n").map(String.init)
        assertRefused("", .invalidArmor("it does not start with -----BEGIN SSH SIGNATURE-----"))
        assertRefused(" " + armored, .invalidArmor("it does not start with -----BEGIN SSH SIGNATURE-----"))
        assertRefused(lines.dropLast().joined(separator: "\n") + "\n", .invalidArmor("it does not end with -----END SSH SIGNATURE-----"))
        assertRefused(String(armored.dropLast(10)), .invalidArmor("it does not end with -----END SSH SIGNATURE-----"))
        assertRefused(armored + "more\n", .invalidArmor("it does not end with -----END SSH SIGNATURE-----"))
        // A line of the body dropped: the base64 no longer decodes to a whole blob.
        XCTAssertThrowsError(try SSHSignature.verify(([lines[0]] + lines[2...]).joined(separator: "\n"), message: message, namespace: "coffer-bundle"))
        var garbled = lines
        garbled[1] = String(garbled[1].dropLast()) + "!"
        assertRefused(garbled.joined(separator: "\n"), .invalidArmor("the body is not canonical base64"))
        assertRefused(lines[0] + "\n\n" + lines[1...].joined(separator: "\n"), .invalidArmor("a base64 line is empty or over 76 characters"))
        assertRefused(armor(Array(blob(armored).dropLast())), .malformedSignature("signature is cut short"))
        assertRefused(String(repeating: "A", count: 5000), .invalidArmor("over 4096 bytes"))
    }

    func testMalformedBlobsAreRefused() throws {
        assertRefused(armor(Array("SSHSIX".utf8) + blob().dropFirst(6)), .malformedSignature("it does not start with SSHSIG"))
        assertRefused(armor(blob(version: 2)), .unsupportedVersion(2))
        assertRefused(armor(blob(version: 0)), .unsupportedVersion(0))
        assertRefused(armor(blob(hash: "sha1")), .unsupportedHash("sha1"))
        assertRefused(armor(blob(reserved: [1])), .malformedSignature("the reserved field is not empty"))
        assertRefused(armor(blob(trailing: [0])), .malformedSignature("trailing bytes after the signature"))
        assertRefused(armor(blob(key: string("ssh-rsa") + string([1, 0, 1]))), .unsupportedKeyType("ssh-rsa"))
        assertRefused(armor(blob(key: string("ssh-ed25519") + string([UInt8](repeating: 9, count: 31)))),
                      .malformedSignature("public key: an ssh-ed25519 key is 32 bytes"))
        assertRefused(armor(blob(signature: string("ssh-ed25519") + string([UInt8](repeating: 0, count: 63)))),
                      .malformedSignature("an ssh-ed25519 signature is 64 bytes"))
        assertRefused(armor(blob(signature: string("rsa-sha2-512") + string([1]))), .malformedSignature("signature type is not ssh-ed25519"))
        // The length fields are bounded before anything is read.
        assertRefused(armor(Array("SSHSIG".utf8) + [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]), .malformedSignature("public key is longer than 1024 bytes"))
        assertRefused(armor(blob()), .invalidNamespace("it is empty"), namespace: "")
    }

    func testNamespacesAreChecked() {
        for bad in ["", String(repeating: "n", count: 257), "a\nb"] {
            XCTAssertThrowsError(try key.sign(message, namespace: bad))
        }
    }

    func testTheKeyNeverPrintsItsSecret() throws {
        let text = key.openSSHPrivateKey()
        let secret = String(decoding: text.withUnsafeBytes { Array($0) }, as: UTF8.self)
        let body = secret.split(separator: "\n")[2]
        for shown in [String(describing: key), String(reflecting: key), "\(key)", "\(Mirror(reflecting: key).children.map { "\($0)" })"] {
            XCTAssertFalse(shown.contains(body), shown)
            XCTAssertFalse(shown.contains("BEGIN OPENSSH"), shown)
        }
        XCTAssertEqual(Mirror(reflecting: key).children.count, 0)
    }
}
