import XCTest
import Age
import AgeSSH

/// Interoperability with the stock `age` CLI and keys `ssh-keygen` makes:
/// the real peers, not our own reader.
final class InteropTests: ToolTestCase {
    let sizes = [0, 1, 65537]

    func testStockAgeDecryptsWhatCofferEncryptsToAnSSHKey() throws {
        try sshKeygen("id_ed25519")
        try sshKeygen("other_ed25519")
        let mine = try SSHEd25519Recipient(parsing: try text("id_ed25519.pub"))
        let other = try SSHEd25519Recipient(parsing: try text("other_ed25519.pub"))
        for size in sizes {
            let plaintext = plaintext(size)
            try write("coffer.age", try Age.encrypt(SecureBytes(copying: plaintext), to: [mine]))
            // To stdout: age 1.1.1 creates no -o file for an empty plaintext.
            try age(["-d", "-i", "id_ed25519", "coffer.age"])
            XCTAssertEqual(try read(".stdout"), plaintext, "size \(size)")
        }
        // Two stanzas: age skips the one whose tag is not its key's.
        try write("both.age", try Age.encrypt(SecureBytes(copying: plaintext(100)), to: [mine, other], armored: true))
        try age(["-d", "-i", "other_ed25519", "both.age"])
        XCTAssertEqual(try read(".stdout"), plaintext(100))
    }

    func testCofferDecryptsWhatStockAgeEncryptsToAnSSHKey() throws {
        try sshKeygen("id_ed25519")
        try sshKeygen("other_ed25519")
        let me = try SSHEd25519Identity(openSSHPrivateKey: try readSecure("id_ed25519"))
        XCTAssertEqual(me.recipient, try SSHEd25519Recipient(parsing: try text("id_ed25519.pub")))
        for size in sizes {
            try write("in", plaintext(size))
            try age(["-R", "id_ed25519.pub", "-o", "age.age", "in"])
            let opened = try Age.decrypt(try read("age.age"), identities: [me]).plaintext
            XCTAssertEqual(bytes(opened), plaintext(size), "size \(size)")
        }
        try write("in", plaintext(100))
        try age(["-a", "-R", "other_ed25519.pub", "-R", "id_ed25519.pub", "-o", "both.age", "in"])
        XCTAssertEqual(bytes(try Age.decrypt(try read("both.age"), identities: [me]).plaintext), plaintext(100))
    }

    func testAPassphraseProtectedKeyIsRefusedAsEncrypted() throws {
        try sshKeygen("locked", passphrase: "pass")
        let bytes = try readSecure("locked")
        XCTAssertTrue(SSHEd25519Identity.isOpenSSHPrivateKey(bytes))
        XCTAssertThrowsError(try SSHEd25519Identity(openSSHPrivateKey: bytes)) { error in
            XCTAssertEqual(error as? AgeSSHError, .encryptedKey)
            XCTAssertTrue("\(error)".contains("passphrase-protected"), "\(error)")
        }
    }

    func testRSAAndECDSAKeysAreUnsupported() throws {
        for (type, name) in [("rsa", "ssh-rsa"), ("ecdsa", "ecdsa-sha2-nistp256")] {
            try sshKeygen(type, type: type)
            XCTAssertThrowsError(try SSHEd25519Identity(openSSHPrivateKey: try readSecure(type)), type) { error in
                XCTAssertEqual(error as? AgeSSHError, .unsupportedKeyType(name))
                XCTAssertTrue("\(error)".contains("only ssh-ed25519"), "\(error)")
            }
            XCTAssertThrowsError(try SSHEd25519Recipient(parsing: try text(type + ".pub")), type) { error in
                XCTAssertEqual(error as? AgeSSHError, .unsupportedKeyType(name))
            }
        }
    }

    func testPublicAndPrivateKeysInEachOthersPlaceAreRefused() throws {
        try sshKeygen("id_ed25519")
        XCTAssertThrowsError(try SSHEd25519Identity(openSSHPrivateKey: try readSecure("id_ed25519.pub"))) { error in
            XCTAssertEqual(error as? AgeSSHError, .publicKeyAsIdentity)
        }
        let secretText = try text("id_ed25519")
        XCTAssertThrowsError(try SSHEd25519Recipient(parsing: secretText)) { error in
            XCTAssertEqual(error as? AgeSSHError, .privateKeyAsRecipient)
            XCTAssertFalse("\(error)".contains(secretText.split(separator: "\n")[2].prefix(20)))
        }
    }
}
