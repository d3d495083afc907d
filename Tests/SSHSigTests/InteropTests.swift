import Foundation
import XCTest
import Age
import SSHSig

/// Our signatures and keys against the stock ssh-keygen, both ways.
final class InteropTests: SSHKeygenTestCase {
    private let message = Array("manifest v1\nsecrets/prod/db.age\n".utf8)

    func testSshKeygenVerifiesOurSignature() throws {
        let key = SSHSigningKey.generate()
        try write("allowed_signers", "alice \(key.publicKey.authorizedKey)\n")
        try write("msg.sig", try key.sign(message, namespace: "coffer-bundle"))
        let verified = try keygenOK(["-Y", "verify", "-f", "allowed_signers", "-I", "alice", "-n", "coffer-bundle", "-s", "msg.sig"],
                                    stdin: message)
        XCTAssertTrue(verified.stdout.contains("Good \"coffer-bundle\" signature for alice with ED25519 key \(key.publicKey.fingerprint)"),
                      verified.stdout)
        // ssh-keygen holds the signature to its namespace, its principal and its message too.
        XCTAssertNotEqual(try keygen(["-Y", "verify", "-f", "allowed_signers", "-I", "alice", "-n", "git", "-s", "msg.sig"], stdin: message).status, 0)
        XCTAssertNotEqual(try keygen(["-Y", "verify", "-f", "allowed_signers", "-I", "bob", "-n", "coffer-bundle", "-s", "msg.sig"], stdin: message).status, 0)
        XCTAssertNotEqual(try keygen(["-Y", "verify", "-f", "allowed_signers", "-I", "alice", "-n", "coffer-bundle", "-s", "msg.sig"],
                                     stdin: message + [0x0A]).status, 0)
    }

    /// Ed25519 is deterministic: for the same key and message, ssh-keygen's
    /// file and ours are the same bytes (armor, wrapping, hash name).
    func testOurSignatureIsByteForByteWhatSshKeygenWrites() throws {
        let key = SSHSigningKey.generate()
        let keyFile = try exportKey(key, as: "id_coffer", comment: "coffer:alice")
        for (hash, options) in [(SSHSignature.HashAlgorithm.sha512, [String]()), (.sha256, ["-O", "hashalg=sha256"])] {
            try write("msg", message)
            try? FileManager.default.removeItem(atPath: path("msg.sig"))
            try keygenOK(["-Y", "sign", "-f", keyFile, "-n", "coffer-bundle"] + options + ["msg"])
            let theirs = String(decoding: try read("msg.sig"), as: UTF8.self)
            XCTAssertEqual(try key.sign(message, namespace: "coffer-bundle", hash: hash), theirs, "\(hash)")
            XCTAssertEqual(try SSHSignature.verify(theirs, message: message, namespace: "coffer-bundle"), key.publicKey)
        }
        // A longer namespace and message make a signature that spans lines of 70.
        let long = [UInt8](repeating: 0x61, count: 5000)
        try write("long", long)
        try keygenOK(["-Y", "sign", "-f", keyFile, "-n", String(repeating: "n", count: 200), "long"])
        XCTAssertEqual(try key.sign(long, namespace: String(repeating: "n", count: 200)), String(decoding: try read("long.sig"), as: UTF8.self))
    }

    func testExportedKeyIsTheSameKeyToSshKeygen() throws {
        let key = SSHSigningKey.generate()
        let keyFile = try exportKey(key, as: "id_coffer", comment: "coffer:alice")
        XCTAssertEqual(try keygenOK(["-y", "-f", keyFile]).stdout, key.publicKey.authorizedKey + " coffer:alice\n")
        let pub = try write("id_coffer.pub", key.publicKey.authorizedKey + " coffer:alice\n")
        let listed = try keygenOK(["-l", "-f", pub]).stdout
        XCTAssertTrue(listed.hasPrefix("256 \(key.publicKey.fingerprint) coffer:alice (ED25519)"), listed)
    }

    func testWeReadKeysSshKeygenMade() throws {
        try keygenOK(["-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen", "-f", "id_made"])
        let text = SecureBytes(copying: try read("id_made"))
        let key = try SSHSigningKey(openSSHPrivateKey: text)
        let pub = String(decoding: try read("id_made.pub"), as: UTF8.self)
        let parsed = try SSHEd25519PublicKey.parse(authorizedKey: pub)
        XCTAssertEqual(key.publicKey, parsed.key)
        XCTAssertEqual(parsed.comment, "made by ssh-keygen")
        // It signs as ssh-keygen would with it.
        try write("msg", message)
        try keygenOK(["-Y", "sign", "-f", "id_made", "-n", "file", "msg"])
        XCTAssertEqual(try key.sign(message, namespace: "file"), String(decoding: try read("msg.sig"), as: UTF8.self))

        // A passphrase-protected key is refused as such, and RSA as unsupported.
        try keygenOK(["-q", "-t", "ed25519", "-N", "a passphrase", "-f", "id_locked"])
        XCTAssertThrowsError(try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: try read("id_locked")))) {
            XCTAssertEqual($0 as? SSHSigError, .encryptedPrivateKey)
        }
        try keygenOK(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", "id_rsa"])
        XCTAssertThrowsError(try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: try read("id_rsa")))) {
            XCTAssertEqual($0 as? SSHSigError, .unsupportedKeyType("ssh-rsa"), "\($0)")
        }
        XCTAssertThrowsError(try SSHEd25519PublicKey(parsingAuthorizedKey: String(decoding: try read("id_rsa.pub"), as: UTF8.self))) {
            XCTAssertEqual($0 as? SSHSigError, .unsupportedKeyType("ssh-rsa"))
        }
    }

    /// An RSA signature from ssh-keygen is well-formed SSHSIG but not a key type coffer takes.
    func testRSASignaturesAreRefusedAsUnsupported() throws {
        try keygenOK(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", "id_rsa"])
        try write("msg", message)
        try keygenOK(["-Y", "sign", "-f", "id_rsa", "-n", "coffer-bundle", "msg"])
        XCTAssertThrowsError(try SSHSignature.verify(armored: try read("msg.sig"), message: message, namespace: "coffer-bundle")) {
            XCTAssertEqual($0 as? SSHSigError, .unsupportedKeyType("ssh-rsa"), "\($0)")
        }
    }

    /// Lines with options, quotes and comments as we write and keep them are
    /// lines ssh-keygen honours the same way.
    func testAllowedSignersLinesMeanTheSameToSshKeygen() throws {
        let key = SSHSigningKey.generate()
        try write("msg.sig", try key.sign(message, namespace: "coffer-bundle"))
        let cases: [(line: String, principal: String, allowed: Bool)] = [
            ("alice \(key.publicKey.authorizedKey) coffer:alice", "alice", true),
            ("\"Alice Smith\" \(key.publicKey.authorizedKey)", "Alice Smith", true),
            ("bob,alice namespaces=\"coffer-*,git\" \(key.publicKey.authorizedKey)", "alice", true),
            ("alice namespaces=\"git\" \(key.publicKey.authorizedKey)", "alice", false),
            ("alice namespaces=\"*,!coffer-bundle\" \(key.publicKey.authorizedKey)", "alice", false),
            ("alice valid-before=\"20000101Z\" \(key.publicKey.authorizedKey)", "alice", false),
            ("alice valid-after=\"20000101Z\",valid-before=\"29991231235959Z\" \(key.publicKey.authorizedKey)", "alice", true),
        ]
        let now = Int64(Date().timeIntervalSince1970)
        for test in cases {
            let signer = try AllowedSigner(parsing: test.line)
            XCTAssertEqual(signer.line, test.line)
            XCTAssertEqual(signer.principals.contains(test.principal) && signer.permits(namespace: "coffer-bundle", at: now), test.allowed, test.line)
            try write("allowed_signers", test.line + "\n")
            let result = try keygen(["-Y", "verify", "-f", "allowed_signers", "-I", test.principal, "-n", "coffer-bundle", "-s", "msg.sig"],
                                    stdin: message)
            XCTAssertEqual(result.status == 0, test.allowed, "ssh-keygen on \(test.line): \(result.stdout) \(result.stderr)")
        }
    }
}
