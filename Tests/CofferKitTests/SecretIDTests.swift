import XCTest
@testable import CofferKit
import Age

final class SecretIDTests: XCTestCase {
    func testValidIDs() throws {
        let longest = String(repeating: "a", count: 251) + "/b" + "/c"  // 255 bytes, each segment a valid file name
        for text in ["a", "prod/db/password", "A-b_c.d/e", "x.age", "a/b.c/d", String(repeating: "a", count: 251), longest] {
            XCTAssertEqual(try SecretID(text).value, text)
        }
        XCTAssertEqual(try SecretID("prod/db/password").relativePath, "prod/db/password.age")
        XCTAssertEqual(try SecretID("prod/db/password").directory, "prod/db")
        XCTAssertEqual(try SecretID("top").directory, "")
    }

    func testEveryKindOfInvalidIDIsRejected() {
        let invalid = [
            "", "/abs", "a//b", "a/", "..", "a/../b", ".", "a/./b", ".hidden", "a/.git/x", "a/.recipients",
            "sp ace", "tab\t", "nl\n", "ctl\u{1}", "uni\u{e9}", "back\\slash", "star*", "a=b", "q\"",
            String(repeating: "a", count: 256), String(repeating: "a", count: 252),
            String(repeating: "a", count: 127) + "/" + String(repeating: "a", count: 128),
        ]
        for text in invalid {
            XCTAssertThrowsError(try SecretID(text), "\(text.debugDescription) accepted") { error in
                guard case VaultError.invalidID = error else { return XCTFail("\(error)") }
                // The message quotes the id with control bytes escaped.
                XCTAssertFalse("\(error)".unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                               "raw control character in \("\(error)".debugDescription)")
            }
        }
    }

    func testAKeyAsAnIDScopeOrPrefixIsRefusedWithoutBeingShown() {
        let key = String(decoding: X25519Identity.generate().encodedSecretKey().withUnsafeBytes { Array($0) }, as: UTF8.self)
        let body = String(key.dropFirst("AGE-SECRET-KEY-1".count))
        for text in [key, key.lowercased(), "prod/" + key, key + "/x"] {
            for (what, parse) in [("the secret id", { _ = try SecretID(text) }), ("the scope", { _ = try Scope(text) }),
                                  ("the prefix", { _ = try Prefix(text) })] as [(String, () throws -> Void)] {
                XCTAssertThrowsError(try parse()) { error in
                    XCTAssertEqual(error as? VaultError, .looksLikeSecretKey(what: what))
                    XCTAssertEqual("\(error)", "\(what) looks like a secret key; it is not shown")
                }
            }
        }
        // Messages that name user input show no key either.
        for error in [VaultError.invalidID("x" + key, reason: "r"), .notAVault(path: "/tmp/" + key), .noSuchVaultRevision(revision: key),
                      .identityMissing(path: key.lowercased()), .notAReader(reader: key, scope: nil)] {
            XCTAssertFalse(error.description.uppercased().contains(body.uppercased()), error.description)
        }
    }

    func testIDsFromPaths() {
        XCTAssertEqual(SecretID(relativePath: "a/b.age")?.value, "a/b")
        XCTAssertNil(SecretID(relativePath: "a/b.txt"))
        XCTAssertNil(SecretID(relativePath: "a/.x.age"))
    }

    func testRecipientsFileParsesNamesAndComments() throws {
        let a = X25519Identity.generate().recipient.encoded, b = X25519Identity.generate().recipient.encoded
        let file = try RecipientsFile(parsing: "# readers of prod\n\(a) # ops-laptop\r\n\n  \(b)\n", path: "p/.recipients")
        XCTAssertEqual(file.entries.map(\.recipient.encoded), [a, b])
        XCTAssertEqual(file.entries.map(\.name), ["ops-laptop", nil])
        XCTAssertEqual(try RecipientsFile(parsing: file.text, path: "x"), file)
        XCTAssertThrowsError(try RecipientsFile(parsing: "\(a)\nnot-a-key\n", path: "p/.recipients")) {
            XCTAssertEqual($0 as? VaultError, .invalidRecipientsFile(path: "p/.recipients", line: 2))
        }
    }

    func testSealedFilesAreBoundToTheirID() throws {
        let me = X25519Identity.generate()
        let readers = [NamedRecipient(recipient: me.recipient, name: "me")]
        let id = try SecretID("prod/db/password")
        let file = try Sealing.seal(SecureBytes(copying: Array("hunter2".utf8)), id: id, for: readers, plugins: .standalone)
        let value = try Sealing.open(file, id: id, identities: [me])
        value.withUnsafeBytes { XCTAssertEqual(Array($0), Array("hunter2".utf8)) }
        XCTAssertEqual(try Sealing.boundReaders(of: file, id: id).fingerprints, [readers[0].fingerprint])
        XCTAssertThrowsError(try Sealing.open(file, id: try SecretID("dev/db/password"), identities: [me])) {
            XCTAssertEqual($0 as? VaultError, .boundToOtherID(id: "dev/db/password", boundTo: "prod/db/password"))
        }
        XCTAssertThrowsError(try Sealing.open(file, id: id, identities: [X25519Identity.generate()])) {
            XCTAssertEqual($0 as? VaultError, .notReadable(id: id.value, revision: nil))
        }
        // A plain age file (no binding) is refused.
        let plain = try Age.encrypt(SecureBytes(copying: [1]), to: [me.recipient])
        XCTAssertThrowsError(try Sealing.open(plain, id: id, identities: [me])) {
            XCTAssertEqual($0 as? VaultError, .missingBinding(id: id.value))
        }
    }
}
