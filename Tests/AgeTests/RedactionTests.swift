import XCTest
import Age

final class RedactionTests: XCTestCase {
    private let key = String(decoding: X25519Identity.generate().encodedSecretKey().withUnsafeBytes { Array($0) }, as: UTF8.self)

    func testAKeyAnywhereInAnyCaseIsReplaced() {
        let body = String(key.dropFirst("AGE-SECRET-KEY-1".count))
        for text in [key, key.lowercased(), "/tmp/" + key + "/identity", "x" + key.lowercased() + ".age", key + " " + key,
                     "AGE-SECRET-KEY-PQ-1" + body] {
            XCTAssertTrue(Redaction.looksLikeSecretKey(text))
            for shown in [Redaction.shown(text), Redaction.redactingKeys(text)] {
                XCTAssertFalse(shown.uppercased().contains(body.uppercased()), shown)
                XCTAssertTrue(shown.contains("<a secret key>"), shown)
            }
        }
        XCTAssertEqual(Redaction.shown("/tmp/" + key + "/identity"), "/tmp/<a secret key>/identity")
        XCTAssertEqual(Redaction.redactingKeys("unknown option '--x=\(key)'"), "unknown option '--x=<a secret key>'")
    }

    /// An OpenSSH (or any PEM) private key block, or its body alone, pasted into a name or path.
    func testAPastedPEMPrivateKeyIsReplaced() {
        let body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
        let block = "-----BEGIN OPENSSH PRIVATE KEY-----\n\(body)\nQyNTUxOQAAACB\n-----END OPENSSH PRIVATE KEY-----\n"
        for text in [block, "name " + block, block.lowercased(), "-----BEGIN RSA PRIVATE KEY-----\nMIIEow", body, "x/" + body + "/y"] {
            XCTAssertTrue(Redaction.looksLikeSecretKey(text), text)
            for shown in [Redaction.shown(text), Redaction.redactingKeys(text)] {
                XCTAssertFalse(shown.contains(String(body.dropFirst(20).prefix(20))), shown)
                XCTAssertFalse(shown.contains("QyNTUxOQ"), shown)
                XCTAssertTrue(shown.contains("<a secret key>"), shown)
            }
        }
        XCTAssertEqual(Redaction.redactingKeys("key: " + body + " end"), "key: <a secret key> end")
        XCTAssertFalse(Redaction.looksLikeSecretKey("-----BEGIN SSH SIGNATURE-----"))
        XCTAssertFalse(Redaction.looksLikeSecretKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl coffer:alice"))
    }

    func testNothingAfterAnEqualsSignIsShown() {
        XCTAssertEqual(Redaction.shown("db/password=hunter2"), "db/password=...")
        XCTAssertEqual(Redaction.shown("--yes=hunter2"), "--yes=...")
        XCTAssertEqual(Redaction.shown("a=" + key), "a=...")
        XCTAssertEqual(Redaction.shown(key + "=1"), "<a secret key>=...")
    }

    /// A recipient that may be a pasted secret is refused without being
    /// quoted: by bytes for ASCII, by Unicode's rules otherwise (a long s
    /// uppercases to S).
    func testARecipientThatMayBeASecretIsNeverQuoted() {
        let recipient = X25519Identity.generate().recipient.encoded
        XCTAssertNoThrow(try X25519Recipient(parsing: recipient))
        for text in [key, key.lowercased(), "x" + key.lowercased(), "age-plugin-yubikey-1abc", "age1\nabc", "age1\rabc",
                     "age1\u{0B}abc", "age1\u{2028}abc", "age1\u{85}abc", "age-ſecret-key-1abc", String(repeating: "a", count: 201)] {
            XCTAssertThrowsError(try X25519Recipient(parsing: text), text.debugDescription) { error in
                XCTAssertEqual(error as? AgeError, .secretKeyAsRecipient, text.debugDescription)
            }
        }
        XCTAssertThrowsError(try X25519Recipient(parsing: "age1notakey")) { error in
            XCTAssertEqual(error as? AgeError, .invalidRecipient("age1notakey"))
        }
    }

    func testOrdinaryTextIsShownAsItIs() {
        for text in ["prod/db/password", "HEAD~2", "/home/me/.config/coffer/identity", "stripe-secret-key", "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs", ""] {
            XCTAssertFalse(Redaction.looksLikeSecretKey(text))
            XCTAssertEqual(Redaction.shown(text), text)
        }
    }

    /// A plugin identity (`AGE-PLUGIN-NAME-1…`) is kept as secret as an age
    /// key: pasted as a name it would be committed in `.recipients`. The
    /// plugin's binary name (`age-plugin-yubikey`) is ordinary text.
    func testAPastedPluginIdentityIsReplacedButAPluginNameIsNot() {
        let data = Array("a plugin identity's own bytes!".utf8)
        let identity = String(decoding: Bech32.encode(hrp: "AGE-PLUGIN-YUBIKEY-", data: data), as: UTF8.self)
        let body = String(identity.dropFirst("AGE-PLUGIN-YUBIKEY-1".count))
        for text in [identity, identity.lowercased(), "/tmp/" + identity + "/identity", "name " + identity] {
            XCTAssertTrue(Redaction.looksLikeSecretKey(text), text)
            for shown in [Redaction.shown(text), Redaction.redactingKeys(text)] {
                XCTAssertFalse(shown.uppercased().contains(body.uppercased()), shown)
                XCTAssertTrue(shown.contains("<a secret key>"), shown)
            }
        }
        for text in ["age-plugin-yubikey not found on PATH", "/usr/bin/age-plugin-yubikey", "AGE-PLUGIN-YUBIKEY-", "cannot start age-plugin-se.v2"] {
            XCTAssertFalse(Redaction.looksLikeSecretKey(text), text)
            XCTAssertEqual(Redaction.redactingKeys(text), text)
        }
    }
}
