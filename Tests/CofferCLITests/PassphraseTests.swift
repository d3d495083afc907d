import Foundation
import XCTest

/// Passphrase (scrypt) files between coffer and age, terminal prompts, and
/// passphrase-protected identity files. age reads passphrases only from a
/// terminal, so it runs on a pseudo-terminal (pty_run.py).
final class PassphraseTests: CLITestCase {
    private let passphrase = "correct horse battery staple 7"
    private let wrongPassphrase = "correct horse battery stapler"

    private func passphraseFile(_ text: String? = nil) throws -> String {
        try write("pw-\(text == nil ? "good" : "other").txt", (text ?? passphrase) + "\n")
    }

    /// The scrypt stanza's work factor (log2 N) in a binary or armored file.
    private func scryptWorkFactor(_ ciphertext: Data) -> String? {
        var bytes = ciphertext
        let text = String(decoding: ciphertext, as: UTF8.self)
        if text.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----") {
            bytes = Data(base64Encoded: text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()) ?? Data()
        }
        let header = String(decoding: bytes.prefix(1024), as: UTF8.self)
        guard let line = header.split(separator: "\n").first(where: { $0.hasPrefix("-> scrypt ") }) else { return nil }
        return line.split(separator: " ").last.map(String.init)
    }

    /// Runs `age ARGS…` on a terminal, typing the passphrase at its prompts.
    @discardableResult
    private func ageOnTerminal(_ arguments: [String], passphrase: String, expectPrompts: Int,
                               file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let age = try requireTool("age", file: file, line: line)
        let result = try runOnTerminal([age] + arguments, passphrase: passphrase, maxAnswers: expectPrompts,
                                       file: file, line: line)
        XCTAssertEqual(result.status, 0, "age \(arguments) on a terminal: \(result.stdoutText) \(result.stderrText)",
                       file: file, line: line)
        let prompts = result.stdoutText.lowercased().components(separatedBy: "passphrase").count - 1
        XCTAssertGreaterThanOrEqual(prompts, expectPrompts, "age should have asked for the passphrase: \(result.stdoutText)",
                                    file: file, line: line)
        return result
    }

    // MARK: coffer -> age

    func testCofferPassphraseFileAgeDecryptsOnTerminal() throws {
        _ = try requireTool("age")
        let pw = try passphraseFile()
        for armor in [false, true] {
            let plaintext = randomBytes(armor ? 65537 : 1000)
            try write("plain", plaintext)
            try succeedCoffer(["age", "encrypt", "-p", "--passphrase-file", pw, "-o", path("p.age"), path("plain")]
                              + (armor ? ["-a"] : []))
            let ciphertext = try read("p.age")
            XCTAssertEqual(ciphertext.ageStanzaTypes(), ["scrypt"], "a passphrase file has one scrypt stanza")
            XCTAssertEqual(scryptWorkFactor(ciphertext), CLITestCase.testWorkFactor,
                           "debug builds honour COFFER_TEST_SCRYPT_WORK_FACTOR")

            try ageOnTerminal(["-d", "-o", path("p.out"), path("p.age")], passphrase: passphrase, expectPrompts: 1)
            XCTAssertTrue(try read("p.out") == plaintext, "age -d (armor \(armor)) differs from the plaintext")
            unlink(path("p.out"))
        }
    }

    // MARK: age -> coffer

    func testAgePassphraseOnTerminalCofferDecryptsWithPassphraseFile() throws {
        let pw = try passphraseFile()
        let wrong = try passphraseFile(wrongPassphrase)
        let plaintext = Data("COFFER-CANARY-\(UUID().uuidString)\n".utf8) + randomBytes(70_000)
        try write("plain", plaintext)
        for armor in [false, true] {
            // age's default work factor (18): about a second and 256 MiB per file.
            try ageOnTerminal(["-e", "-p"] + (armor ? ["-a"] : []) + ["-o", path("p.age"), path("plain")],
                              passphrase: passphrase, expectPrompts: 2)
            let ciphertext = try read("p.age")
            XCTAssertEqual(ciphertext.ageStanzaTypes(), ["scrypt"])

            let decrypted = try succeedCoffer(["age", "decrypt", "--passphrase-file", pw, path("p.age")])
            XCTAssertTrue(decrypted.stdout == plaintext, "coffer decrypt of age -p (armor \(armor)) differs")

            let refused = try coffer(["age", "decrypt", "--passphrase-file", wrong, path("p.age")])
            assertCofferError(refused, plaintext: plaintext.prefix(50), secrets: [])
            XCTAssertTrue(refused.stdout.isEmpty, "a wrong passphrase must print no plaintext")
            assertDoesNotContain(refused.stderr, Data(wrongPassphrase.utf8), "the passphrase")
        }
    }

    // MARK: coffer's own prompt

    func testCofferPromptsForPassphraseOnTerminal() throws {
        let plaintext = Data("COFFER-CANARY-\(UUID().uuidString)\n".utf8)
        try write("plain", plaintext)

        // encrypt -p asks twice, with echo off.
        let sealed = try runOnTerminal([coffer, "age", "encrypt", "-p", "-o", path("t.age"), path("plain")],
                                       passphrase: passphrase, maxAnswers: 2)
        XCTAssertEqual(sealed.status, 0, "coffer age encrypt -p on a terminal: \(sealed.stdoutText) \(sealed.stderrText)")
        XCTAssertTrue(sealed.stdoutText.contains("Enter passphrase:"), "terminal showed: \(sealed.stdoutText)")
        XCTAssertTrue(sealed.stdoutText.contains("Confirm passphrase:"), "terminal showed: \(sealed.stdoutText)")
        XCTAssertFalse(sealed.stdoutText.contains(passphrase), "the passphrase was echoed")
        XCTAssertEqual(try read("t.age").ageStanzaTypes(), ["scrypt"])

        // decrypt of a passphrase file without --passphrase-file prompts on /dev/tty.
        let opened = try runOnTerminal([coffer, "age", "decrypt", "-o", path("t.out"), path("t.age")],
                                       passphrase: passphrase, maxAnswers: 1)
        XCTAssertEqual(opened.status, 0, "coffer age decrypt on a terminal: \(opened.stdoutText) \(opened.stderrText)")
        XCTAssertTrue(opened.stdoutText.contains("Enter passphrase:"), "terminal showed: \(opened.stdoutText)")
        XCTAssertFalse(opened.stdoutText.contains(passphrase), "the passphrase was echoed")
        XCTAssertTrue(try read("t.out") == plaintext)
        XCTAssertEqual(try mode("t.out"), 0o600)

        // The same file, prompted for by age, proves it is a real age passphrase file.
        if Tools.which("age") != nil || Tools.isCI {
            try ageOnTerminal(["-d", "-o", path("a.out"), path("t.age")], passphrase: passphrase, expectPrompts: 1)
            XCTAssertTrue(try read("a.out") == plaintext)
        }

        // A wrong passphrase typed at the prompt fails closed.
        let refused = try runOnTerminal([coffer, "age", "decrypt", "-o", path("w.out"), path("t.age")],
                                        passphrase: wrongPassphrase, maxAnswers: 1)
        XCTAssertEqual(refused.status, 1, "terminal showed: \(refused.stdoutText)")
        XCTAssertTrue(refused.stdoutText.contains("coffer: error: "), "terminal showed: \(refused.stdoutText)")
        XCTAssertFalse(refused.stdoutText.contains(wrongPassphrase), "the passphrase was echoed or quoted")
        XCTAssertFalse(exists("w.out"), "no output file after a wrong passphrase")

        // Without a terminal and without --passphrase-file there is nothing to ask: a clear error, no hang.
        let noTerminal = try run("setsid", ["-w", coffer, "age", "decrypt", path("t.age")], timeout: 30)
        assertCofferError(noTerminal, plaintext: plaintext)
        XCTAssertTrue(noTerminal.stdout.isEmpty)
    }

    func testBinaryCiphertextIsNotWrittenToTerminal() throws {
        let key = try cofferKeygen("k.txt")
        try write("plain", "hello\n")
        let binary = try runOnTerminal([coffer, "age", "encrypt", "-r", key.recipient, path("plain")], passphrase: nil)
        XCTAssertEqual(binary.status, 1, "terminal showed: \(binary.stdoutText)")
        XCTAssertTrue(binary.stdoutText.contains("coffer: error: refusing to write binary ciphertext to a terminal"),
                      "terminal showed: \(binary.stdoutText)")
        let armored = try runOnTerminal([coffer, "age", "encrypt", "-a", "-r", key.recipient, path("plain")], passphrase: nil)
        XCTAssertEqual(armored.status, 0, "terminal showed: \(armored.stdoutText)")
        XCTAssertTrue(armored.stdoutText.contains("-----BEGIN AGE ENCRYPTED FILE-----"))
    }

    // MARK: passphrase-protected identity files

    func testIdentityFileProtectedByCofferPassphrase() throws {
        let key = try ageKeygen("key.txt")
        let pw = try passphraseFile()
        let wrong = try passphraseFile(wrongPassphrase)
        let plaintext = Data("COFFER-CANARY-\(UUID().uuidString)\n".utf8) + randomBytes(1000)
        try write("plain", plaintext)
        try succeed(try requireTool("age"), ["-e", "-r", key.recipient, "-o", path("data.age"), path("plain")])

        for armor in [false, true] {
            let protected = "key-\(armor).age"
            try succeedCoffer(["age", "encrypt", "-p", "--passphrase-file", pw, "-o", path(protected), key.identityFile]
                              + (armor ? ["-a"] : []))
            XCTAssertNil(try read(protected).range(of: Data(key.secret.utf8)), "the identity is stored encrypted")

            let opened = try succeedCoffer(["age", "decrypt", "-i", path(protected), "--passphrase-file", pw, path("data.age")])
            XCTAssertTrue(opened.stdout == plaintext, "decrypt with the protected identity (armor \(armor))")

            let refused = try coffer(["age", "decrypt", "-i", path(protected), "--passphrase-file", wrong, path("data.age")])
            assertCofferError(refused, plaintext: plaintext.prefix(50), secrets: [key.secret])
            XCTAssertTrue(refused.stdout.isEmpty)
            assertDoesNotContain(refused.stderr, Data(wrongPassphrase.utf8), "the passphrase")

            // -y cannot print the recipient of a protected file without its passphrase: it says so.
            let convert = try coffer(["age", "keygen", "-y", path(protected)])
            assertCofferError(convert, secrets: [key.secret])
            XCTAssertTrue(convert.stdout.isEmpty)
        }

        // age itself takes the coffer-protected identity file, asking on the terminal.
        try ageOnTerminal(["-d", "-i", path("key-false.age"), "-o", path("age.out"), path("data.age")],
                          passphrase: passphrase, expectPrompts: 1)
        XCTAssertTrue(try read("age.out") == plaintext)
    }

    func testIdentityFileProtectedByAgePassphrase() throws {
        let key = try cofferKeygen("key.txt")
        let plaintext = randomBytes(100_000)
        try write("plain", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        try ageOnTerminal(["-e", "-p", "-o", path("key.age"), key.identityFile], passphrase: passphrase, expectPrompts: 2)
        unlink(key.identityFile)

        let pw = try passphraseFile()
        try succeedCoffer(["age", "decrypt", "-i", path("key.age"), "--passphrase-file", pw, "-o", path("out"), path("data.age")])
        XCTAssertTrue(try read("out") == plaintext, "decrypt with an identity file protected by age -p")

        // Without --passphrase-file coffer asks on the terminal, naming the identity file.
        let prompted = try runOnTerminal([coffer, "age", "decrypt", "-i", path("key.age"), "-o", path("out2"), path("data.age")],
                                         passphrase: passphrase, maxAnswers: 1)
        XCTAssertEqual(prompted.status, 0, "terminal showed: \(prompted.stdoutText)")
        XCTAssertTrue(prompted.stdoutText.contains("Enter passphrase for identity file \(path("key.age")):"),
                      "terminal showed: \(prompted.stdoutText)")
        XCTAssertTrue(try read("out2") == plaintext)
    }
}
