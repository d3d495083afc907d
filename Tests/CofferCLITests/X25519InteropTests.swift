import Foundation
import XCTest

/// coffer and the stock age CLI read each other's X25519 files and key files.
final class X25519InteropTests: CLITestCase {
    /// Around the 64 KiB STREAM chunk boundary, empty, and a multi-chunk file.
    static let sizes = [0, 1, 65535, 65536, 65537, (1 << 20) + 1]

    private static let armorBegin = Data("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    private static let binaryBegin = Data("age-encryption.org/v1\n".utf8)

    /// Encrypts with coffer, alternating the ways in (file / stdin) and out (-o / stdout).
    private func cofferEncrypt(_ plaintext: Data, recipients: [String], recipientFiles: [String] = [],
                               armor: Bool, name: String,
                               file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        var arguments = ["age", "encrypt"]
        for r in recipients { arguments += ["-r", r] }
        for f in recipientFiles { arguments += ["-R", f] }
        if armor {
            arguments.append("-a")
            let result = try succeedCoffer(arguments, stdin: plaintext, file: file, line: line)
            assertHeader(result.stdout, armor: true, stanzas: recipientFiles.isEmpty ? recipients.count : nil,
                         file: file, line: line)
            return result.stdout
        }
        try write(name + ".in", plaintext)
        try succeedCoffer(arguments + ["-o", path(name), path(name + ".in")], file: file, line: line)
        let ciphertext = try read(name)
        assertHeader(ciphertext, armor: false, stanzas: recipientFiles.isEmpty ? recipients.count : nil,
                     file: file, line: line)
        return ciphertext
    }

    private func assertHeader(_ ciphertext: Data, armor: Bool, stanzas: Int?,
                              file: StaticString = #filePath, line: UInt = #line) {
        let expected = armor ? X25519InteropTests.armorBegin : X25519InteropTests.binaryBegin
        XCTAssertEqual(ciphertext.prefix(expected.count), expected, "unexpected \(armor ? "armored" : "binary") header",
                       file: file, line: line)
        if let stanzas {
            XCTAssertEqual(ciphertext.ageStanzaTypes(), Array(repeating: "X25519", count: stanzas),
                           "one X25519 stanza per recipient", file: file, line: line)
        }
    }

    /// Decrypts with coffer, alternating stdin/stdout and INPUT/-o.
    private func cofferDecrypt(_ ciphertext: Data, identities: [String], armor: Bool, name: String,
                               file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        var arguments = ["age", "decrypt"]
        for i in identities { arguments += ["-i", i] }
        if armor {
            try write(name, ciphertext)
            try succeedCoffer(arguments + ["-o", path(name + ".out"), path(name)], file: file, line: line)
            defer { unlink(path(name + ".out")) }
            return try read(name + ".out")
        }
        return try succeedCoffer(arguments, stdin: ciphertext, file: file, line: line).stdout
    }

    private func ageDecrypt(_ ciphertext: Data, identity: String, name: String,
                            file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let age = try requireTool("age", file: file, line: line)
        // Output on stdout (a file here): age -o does not create the file for an empty plaintext.
        try write(name, ciphertext)
        return try succeed(age, ["-d", "-i", identity, path(name)], file: file, line: line).stdout
    }

    private func ageEncrypt(_ plaintext: Data, recipients: [String], recipientFiles: [String] = [], armor: Bool,
                            file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let age = try requireTool("age", file: file, line: line)
        var arguments = ["-e"]
        for r in recipients { arguments += ["-r", r] }
        for f in recipientFiles { arguments += ["-R", f] }
        if armor { arguments.append("-a") }
        let result = try succeed(age, arguments, stdin: plaintext, file: file, line: line)
        assertHeader(result.stdout, armor: armor, stanzas: recipientFiles.isEmpty ? recipients.count : nil,
                     file: file, line: line)
        return result.stdout
    }

    // MARK: coffer -> age

    func testCofferEncryptsToOneRecipientAgeDecrypts() throws {
        let keys = [try ageKeygen("age-key.txt"), try cofferKeygen("coffer-key.txt")]
        for key in keys {
            for armor in [false, true] {
                for size in Self.sizes {
                    let plaintext = randomBytes(size)
                    let label = "\(size) bytes, armor \(armor), key \(key.identityFile)"
                    let ciphertext = try cofferEncrypt(plaintext, recipients: [key.recipient], armor: armor, name: "c.age")
                    XCTAssertEqual(ciphertext.ageStanzaTypes(), ["X25519"], label)
                    let decrypted = try ageDecrypt(ciphertext, identity: key.identityFile, name: "d.age")
                    XCTAssertTrue(decrypted == plaintext, "age -d differs from the plaintext: \(label)")
                }
            }
        }
    }

    func testCofferEncryptsToThreeRecipientsEachAgeIdentityDecrypts() throws {
        let keys = [try ageKeygen("a.txt"), try cofferKeygen("b.txt"), try ageKeygen("c.txt")]
        for armor in [false, true] {
            for size in Self.sizes {
                let plaintext = randomBytes(size)
                let ciphertext = try cofferEncrypt(plaintext, recipients: keys.map(\.recipient), armor: armor, name: "c.age")
                XCTAssertEqual(ciphertext.ageStanzaTypes(), ["X25519", "X25519", "X25519"])
                for key in keys {
                    let decrypted = try ageDecrypt(ciphertext, identity: key.identityFile, name: "d.age")
                    XCTAssertTrue(decrypted == plaintext,
                                  "age -d -i \(key.identityFile) differs: \(size) bytes, armor \(armor)")
                }
            }
        }
    }

    // MARK: age -> coffer

    func testAgeEncryptsToOneRecipientCofferDecrypts() throws {
        let keys = [try ageKeygen("age-key.txt"), try cofferKeygen("coffer-key.txt")]
        for key in keys {
            for armor in [false, true] {
                for size in Self.sizes {
                    let plaintext = randomBytes(size)
                    let ciphertext = try ageEncrypt(plaintext, recipients: [key.recipient], armor: armor)
                    let decrypted = try cofferDecrypt(ciphertext, identities: [key.identityFile], armor: armor, name: "e.age")
                    XCTAssertTrue(decrypted == plaintext,
                                  "coffer decrypt differs: \(size) bytes, armor \(armor), key \(key.identityFile)")
                }
            }
        }
    }

    func testAgeEncryptsToThreeRecipientsEachCofferIdentityDecrypts() throws {
        let keys = [try cofferKeygen("a.txt"), try ageKeygen("b.txt"), try cofferKeygen("c.txt")]
        // One identity file holding an unrelated key and then the last key, as age allows.
        let other = try ageKeygen("other.txt")
        let combined = try write("combined.txt", try read("other.txt") + (try read("c.txt")))
        for armor in [false, true] {
            for size in Self.sizes {
                let plaintext = randomBytes(size)
                let ciphertext = try ageEncrypt(plaintext, recipients: keys.map(\.recipient), armor: armor)
                for identities in keys.map({ [$0.identityFile] }) + [[other.identityFile, keys[1].identityFile], [combined]] {
                    let decrypted = try cofferDecrypt(ciphertext, identities: identities, armor: armor, name: "e.age")
                    XCTAssertTrue(decrypted == plaintext,
                                  "coffer decrypt -i \(identities) differs: \(size) bytes, armor \(armor)")
                }
            }
        }
    }

    // MARK: recipients files

    func testRecipientsFileWithCommentsBothWays() throws {
        let keys = [try ageKeygen("a.txt"), try cofferKeygen("b.txt"), try ageKeygen("c.txt")]
        // The syntax both tools accept: whole-line comments and blank lines.
        let shared = try write("team.recipients", """
            # team readers
            # alice, made by age-keygen
            \(keys[0].recipient)

            # bob, made by coffer
            \(keys[1].recipient)

            """)
        let plaintext = randomBytes(70_000)

        // coffer -R (plus -r) -> age, every identity.
        let sealed = try cofferEncrypt(plaintext, recipients: [keys[2].recipient], recipientFiles: [shared],
                                       armor: false, name: "r.age")
        XCTAssertEqual(sealed.ageStanzaTypes(), ["X25519", "X25519", "X25519"])
        for key in keys {
            XCTAssertTrue(try ageDecrypt(sealed, identity: key.identityFile, name: "d.age") == plaintext,
                          "age -d -i \(key.identityFile) after coffer -R")
        }

        // age -R -> coffer, every identity named in the file; the third key is not a reader.
        for armor in [false, true] {
            let fromAge = try ageEncrypt(plaintext, recipients: [], recipientFiles: [shared], armor: armor)
            XCTAssertEqual(fromAge.ageStanzaTypes(), ["X25519", "X25519"])
            for key in keys.prefix(2) {
                XCTAssertTrue(try cofferDecrypt(fromAge, identities: [key.identityFile], armor: armor, name: "e.age") == plaintext,
                              "coffer decrypt -i \(key.identityFile) after age -R")
            }
            let outsider = try coffer(["age", "decrypt", "-i", keys[2].identityFile], stdin: fromAge)
            assertCofferError(outsider, secrets: [keys[2].secret])
            XCTAssertTrue(outsider.stdout.isEmpty, "no plaintext for a key that is not in the recipients file")
        }

        // coffer's own recipients syntax also takes a name after the key and indentation.
        let named = try write("named.recipients", """
              # ops
            \(keys[0].recipient) # ops-laptop
            \t\(keys[2].recipient)\t# ci-deploy\r

            """)
        let sealedNamed = try cofferEncrypt(plaintext, recipients: [], recipientFiles: [named], armor: true, name: "n.age")
        XCTAssertEqual(sealedNamed.ageStanzaTypes(), ["X25519", "X25519"])
        for key in [keys[0], keys[2]] {
            XCTAssertTrue(try ageDecrypt(sealedNamed, identity: key.identityFile, name: "d.age") == plaintext)
        }
        let notNamed = try run(try requireTool("age"), ["-d", "-i", keys[1].identityFile], stdin: sealedNamed)
        XCTAssertNotEqual(notNamed.status, 0, "bob is not in named.recipients")
    }

    // MARK: key files

    func testKeyFilesMoveBetweenAgeKeygenAndCoffer() throws {
        let ageKeygen = try requireTool("age-keygen")
        let fromAge = try self.ageKeygen("from-age.txt")
        let fromCoffer = try cofferKeygen("from-coffer.txt")

        // Each tool derives the same recipient from the other's identity file.
        XCTAssertEqual(try succeedCoffer(["age", "keygen", "-y", fromAge.identityFile]).stdoutText, fromAge.recipient + "\n")
        XCTAssertEqual(try succeed(ageKeygen, ["-y", fromCoffer.identityFile]).stdoutText, fromCoffer.recipient + "\n")
        // ... from standard input as well.
        XCTAssertEqual(try succeedCoffer(["age", "keygen", "-y"], stdinFile: fromAge.identityFile).stdoutText,
                       fromAge.recipient + "\n")
        XCTAssertEqual(try succeed(ageKeygen, ["-y"], stdinFile: fromCoffer.identityFile).stdoutText,
                       fromCoffer.recipient + "\n")

        // coffer's file has age-keygen's shape: two comments, then the key.
        let lines = String(decoding: try read("from-coffer.txt"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4, "three lines and a final newline")
        XCTAssertTrue(lines[0].hasPrefix("# created: "))
        XCTAssertEqual(lines[1], "# public key: \(fromCoffer.recipient)")
        XCTAssertTrue(lines[2].hasPrefix("AGE-SECRET-KEY-1"))
        XCTAssertEqual(lines[3], "")

        // Several identities in one file: both tools list every recipient, in order.
        let both = try write("both.txt", try read("from-age.txt") + (try read("from-coffer.txt")))
        let expected = fromAge.recipient + "\n" + fromCoffer.recipient + "\n"
        XCTAssertEqual(try succeedCoffer(["age", "keygen", "-y", both]).stdoutText, expected)
        XCTAssertEqual(try succeed(ageKeygen, ["-y", both]).stdoutText, expected)
    }
}
