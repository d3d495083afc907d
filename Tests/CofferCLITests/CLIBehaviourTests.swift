import Foundation
import XCTest

/// Exit codes, file modes and failure paths of `coffer age …`, using coffer alone.
final class CLIBehaviourTests: CLITestCase {
    /// Plaintext that is easy to spot if it ever reaches stderr: an ASCII canary, repeated.
    private func canaryPlaintext(_ size: Int) -> Data {
        let canary = Data("COFFER-CANARY-\(UUID().uuidString)|".utf8)
        var data = Data()
        while data.count < size { data += canary }
        return data.prefix(size)
    }

    private static let chunk = 64 * 1024
    private static let tag = 16

    /// Offset of the first payload byte of a binary age file (after the header and the 16-byte nonce).
    private func payloadStart(_ file: Data, line: UInt = #line) throws -> Int {
        let marker = Data("\n--- ".utf8)
        let found = try XCTUnwrap(file.range(of: marker), "no header MAC line", line: line)
        let end = try XCTUnwrap(file[found.upperBound...].firstIndex(of: 0x0A), "unterminated MAC line", line: line)
        return end + 1 + 16
    }

    // MARK: keygen

    func testKeygenWritesMode0600AndNeverOverwrites() throws {
        let generated = try succeedCoffer(["age", "keygen", "-o", path("key.txt")])
        XCTAssertEqual(try mode("key.txt"), 0o600, "identity files are created 0600")
        XCTAssertTrue(generated.stdout.isEmpty, "with -o nothing goes to stdout")
        let key = try cofferKeygenInfo("key.txt")
        XCTAssertEqual(generated.stderrText, "Public key: \(key.recipient)\n")

        let before = try read("key.txt")
        let again = try coffer(["age", "keygen", "-o", path("key.txt")])
        assertCofferError(again, secrets: [key.secret])
        XCTAssertTrue(again.stderrText.contains(path("key.txt")), "the error names the file: \(again.stderrText)")
        XCTAssertEqual(try read("key.txt"), before, "an existing identity is never overwritten")
        XCTAssertEqual(try mode("key.txt"), 0o600)

        // Nor any other existing file, whatever its mode.
        try write("precious", "do not touch\n")
        chmod(path("precious"), 0o644)
        let clobber = try coffer(["age", "keygen", "-o", path("precious")])
        assertCofferError(clobber)
        XCTAssertEqual(try read("precious"), Data("do not touch\n".utf8))
        XCTAssertEqual(try mode("precious"), 0o644)
    }

    /// Secret and recipient of a coffer key file, read from the file itself.
    private func cofferKeygenInfo(_ name: String) throws -> Key {
        let text = String(decoding: try read(name), as: UTF8.self)
        let comment = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("# public key: ") })
        let secret = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") })
        return Key(identityFile: path(name), recipient: String(comment.dropFirst("# public key: ".count)), secret: String(secret))
    }

    func testKeygenYPrintsTheRecipientOfThePublicKeyComment() throws {
        var seen = Set<String>()
        for n in 0..<3 {
            // keygen to stdout (not a terminal): the file on stdout, the public key on stderr.
            let generated = try succeedCoffer(["age", "keygen"])
            let text = generated.stdoutText
            let lines = text.split(separator: "\n")
            XCTAssertEqual(lines.count, 3, "identity file on stdout: \(text)")
            let comment = try XCTUnwrap(lines.first { $0.hasPrefix("# public key: age1") }, "no public key comment")
            let recipient = String(comment.dropFirst("# public key: ".count))
            XCTAssertTrue(lines.last?.hasPrefix("AGE-SECRET-KEY-1") ?? false)
            XCTAssertEqual(generated.stderrText, "Public key: \(recipient)\n")

            let fromStdin = try succeedCoffer(["age", "keygen", "-y"], stdin: generated.stdout)
            XCTAssertEqual(fromStdin.stdoutText, recipient + "\n")
            let file = try write("k\(n).txt", generated.stdout)
            XCTAssertEqual(try succeedCoffer(["age", "keygen", "-y", file]).stdoutText, recipient + "\n")
            XCTAssertTrue(seen.insert(recipient).inserted, "keygen repeated a key")
        }
        // INPUT only goes with -y.
        let misuse = try coffer(["age", "keygen", path("k0.txt")])
        XCTAssertEqual(misuse.status, 64, misuse.stderrText)
    }

    // MARK: refused recipients (usage errors of encrypt are rows of refusals.txt)

    func testInvalidRecipientIsRejectedAndQuoted() throws {
        let key = try cofferKeygen("key.txt")
        try write("plain", canaryPlaintext(100))
        var corrupted = Array(key.recipient)
        corrupted[corrupted.count - 1] = corrupted.last == "q" ? "p" : "q"
        let invalid = [
            "age1bogus",
            String(corrupted),                   // bad Bech32 checksum
            String(key.recipient.dropLast(2)),   // too short
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc",
            "alice@example.com",
        ]
        for bad in invalid {
            let result = try coffer(["age", "encrypt", "-r", key.recipient, "-r", bad, "-o", path("out.age"), path("plain")])
            assertCofferError(result, plaintext: try read("plain"), secrets: [key.secret])
            XCTAssertTrue(result.stderrText.contains("\"\(bad)\""), "the error quotes the recipient: \(result.stderrText)")
            XCTAssertFalse(exists("out.age"), "nothing is written for an invalid recipient (\(bad))")

            // The same line in a recipients file.
            let file = try write("bad.recipients", "# one bad line\n\(key.recipient)\n\(bad)\n")
            let fromFile = try coffer(["age", "encrypt", "-R", file, "-o", path("out.age"), path("plain")])
            assertCofferError(fromFile, plaintext: try read("plain"), secrets: [key.secret])
            XCTAssertFalse(exists("out.age"))
        }
    }

    // MARK: decryption failures

    func testWrongIdentityFailsWithoutPlaintext() throws {
        let right = try cofferKeygen("right.txt")
        let wrong = try cofferKeygen("wrong.txt")
        let plaintext = canaryPlaintext(100_000)
        try write("plain", plaintext)
        for armor in [false, true] {
            try succeedCoffer(["age", "encrypt", "-r", right.recipient, "-o", path("data.age"), path("plain")] + (armor ? ["-a"] : []))

            let toStdout = try coffer(["age", "decrypt", "-i", wrong.identityFile, path("data.age")])
            assertCofferError(toStdout, plaintext: plaintext, secrets: [right.secret, wrong.secret])
            XCTAssertTrue(toStdout.stdout.isEmpty, "no plaintext on stdout with the wrong identity")

            let toFile = try coffer(["age", "decrypt", "-i", wrong.identityFile, "-o", path("out"), path("data.age")])
            assertCofferError(toFile, plaintext: plaintext, secrets: [right.secret, wrong.secret])
            XCTAssertFalse(exists("out"), "no output file with the wrong identity")

            // No identity at all on a recipient file: an error, not a passphrase prompt.
            let none = try run("setsid", ["-w", coffer, "age", "decrypt", path("data.age")], timeout: 30)
            assertCofferError(none, plaintext: plaintext, secrets: [right.secret])
            XCTAssertTrue(none.stdout.isEmpty)
        }
        XCTAssertTrue(try succeedCoffer(["age", "decrypt", "-i", right.identityFile, path("data.age")]).stdout == plaintext,
                      "the right identity still works")
    }

    func testMalformedIdentityFileIsNotQuoted() throws {
        let key = try cofferKeygen("key.txt")
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age")], stdin: canaryPlaintext(10))
        // A secret key with one character changed, and one cut short: the error names a line, never its text.
        var damaged = Array(key.secret)
        damaged[20] = damaged[20] == "Q" ? "P" : "Q"
        for line in [String(damaged), String(key.secret.dropLast(5))] {
            let file = try write("bad.txt", "# public key: \(key.recipient)\n\(line)\n")
            let result = try coffer(["age", "decrypt", "-i", file, path("data.age")])
            assertCofferError(result, secrets: [line, key.secret])
            XCTAssertTrue(result.stdout.isEmpty)
        }
        let missing = try coffer(["age", "decrypt", "-i", path("nope.txt"), path("data.age")])
        assertCofferError(missing)
        XCTAssertTrue(missing.stderrText.contains(path("nope.txt")), missing.stderrText)
    }

    func testTamperedPayloadFailsAndLeavesNoOutputFile() throws {
        let key = try cofferKeygen("key.txt")
        let size = 3 * Self.chunk + 100
        let plaintext = canaryPlaintext(size)
        try write("plain", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        let sealed = try read("data.age")
        let start = try payloadStart(sealed)
        XCTAssertEqual(sealed.count - start, size + 4 * Self.tag, "four STREAM chunks")

        // One flipped bit in chunk 0, in chunk 2 (after two good chunks), in the last tag, in the nonce, in the header.
        let targets: [(String, Int, Int)] = [   // (what, offset, chunks that may have been released)
            ("chunk 0", start + 7, 0),
            ("chunk 2", start + 2 * (Self.chunk + Self.tag) + 1000, 2),
            ("final tag", sealed.count - 1, 3),
            ("nonce", start - 3, 0),
            ("header", start - 16 - 10, 0),
        ]
        for (what, offset, goodChunks) in targets {
            var tampered = sealed
            tampered[offset] ^= 0x01
            try write("tampered.age", tampered)

            let toFile = try coffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("tampered.age")])
            assertCofferError(toFile, plaintext: plaintext.prefix(60), secrets: [key.secret])
            XCTAssertFalse(exists("out"), "the partial output is removed (\(what))")

            // On stdout, only whole authenticated chunks before the damage may have been released.
            let toStdout = try coffer(["age", "decrypt", "-i", key.identityFile], stdin: tampered)
            assertCofferError(toStdout, plaintext: plaintext.prefix(60), secrets: [key.secret])
            XCTAssertLessThanOrEqual(toStdout.stdout.count, goodChunks * Self.chunk, "unauthenticated plaintext released (\(what))")
            XCTAssertTrue(plaintext.starts(with: toStdout.stdout), "released bytes are not the plaintext (\(what))")
        }

        // A damaged armored file fails as well.
        try succeedCoffer(["age", "encrypt", "-a", "-r", key.recipient, "-o", path("data.txt"), path("plain")])
        var armored = try read("data.txt")
        let middle = armored.count / 2
        armored[middle] = armored[middle] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try write("tampered.txt", armored)
        let result = try coffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("tampered.txt")])
        assertCofferError(result, plaintext: plaintext.prefix(60), secrets: [key.secret])
        XCTAssertFalse(exists("out"))
    }

    func testTruncatedFileFails() throws {
        let key = try cofferKeygen("key.txt")
        let size = 2 * Self.chunk + 100
        let plaintext = canaryPlaintext(size)
        try write("plain", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        let sealed = try read("data.age")
        let start = try payloadStart(sealed)
        let cuts = [
            0, 10,
            start - 17,                             // inside the header MAC line
            start - 16,                             // header without the nonce
            start - 1,                              // short nonce
            start,                                  // no payload at all
            start + Self.chunk + Self.tag,          // exactly after chunk 0, which is not final
            start + 2 * (Self.chunk + Self.tag),    // exactly after chunk 1, which is not final
            start + 2 * (Self.chunk + Self.tag) + 5,
            sealed.count - 1,
        ]
        for cut in cuts {
            try write("short.age", sealed.prefix(cut))
            let result = try coffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("short.age")])
            assertCofferError(result, plaintext: plaintext.prefix(60), secrets: [key.secret])
            XCTAssertFalse(exists("out"), "no output file for a file cut at \(cut) of \(sealed.count)")

            let piped = try coffer(["age", "decrypt", "-i", key.identityFile], stdin: sealed.prefix(cut))
            assertCofferError(piped, plaintext: plaintext.prefix(60), secrets: [key.secret])
            XCTAssertLessThan(piped.stdout.count, size, "a truncated file never yields the whole plaintext (cut \(cut))")
        }

        // Armor without its end line.
        try succeedCoffer(["age", "encrypt", "-a", "-r", key.recipient, "-o", path("data.txt"), path("plain")])
        let armored = String(decoding: try read("data.txt"), as: UTF8.self)
        let withoutEnd = armored.replacingOccurrences(of: "-----END AGE ENCRYPTED FILE-----\n", with: "")
        XCTAssertNotEqual(withoutEnd, armored)
        let result = try coffer(["age", "decrypt", "-i", key.identityFile], stdin: Data(withoutEnd.utf8))
        assertCofferError(result, plaintext: plaintext.prefix(60), secrets: [key.secret])
    }

    // MARK: output files

    func testDecryptOutputFileIsCreated0600() throws {
        let key = try cofferKeygen("key.txt")
        let plaintext = canaryPlaintext(1000)
        try write("plain", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        let result = try succeedCoffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("data.age")])
        XCTAssertTrue(result.stdout.isEmpty, "with -o nothing goes to stdout")
        XCTAssertEqual(try read("out"), plaintext)
        XCTAssertEqual(try mode("out"), 0o600, "plaintext outputs are created 0600")
    }

    /// An existing output is replaced only by a complete, authenticated
    /// plaintext (then 0600 whatever its old mode); a failure leaves it intact.
    func testDecryptOverExistingFileIsAtomic() throws {
        let key = try cofferKeygen("key.txt")
        let plaintext = canaryPlaintext(200_000)
        try write("plain", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        var damaged = try read("data.age")
        damaged[damaged.count - 5] ^= 0x01
        try write("damaged.age", damaged)

        try write("out", "earlier contents\n")
        chmod(path("out"), 0o644)
        let failed = try coffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("damaged.age")])
        assertCofferError(failed, plaintext: plaintext.prefix(60), secrets: [key.secret])
        XCTAssertEqual(try read("out"), Data("earlier contents\n".utf8), "a failed decryption must not touch the existing file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".coffer-tmp") }, [])

        try succeedCoffer(["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("data.age")])
        XCTAssertEqual(try read("out"), plaintext)
        XCTAssertEqual(try mode("out"), 0o600, "the replaced file holds plaintext, so it is 0600")
    }

    /// A symlink target (as /dev/stdout is) is written through, never replaced.
    func testDecryptThroughASymlinkKeepsTheLink() throws {
        let key = try cofferKeygen("key.txt")
        try write("plain", "through the link\n")
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        try write("target", "")
        try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: path("target"))
        try succeedCoffer(["age", "decrypt", "-i", key.identityFile, "-o", path("link"), path("data.age")])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link")), path("target"))
        XCTAssertEqual(try read("target"), Data("through the link\n".utf8))
    }

    /// A private key pasted where a recipient belongs is refused without
    /// echoing it: typed, as a command line error (64); in a file, by the parser.
    func testSecretKeyGivenAsRecipientIsNotEchoed() throws {
        let key = try cofferKeygen("key.txt")
        try write("plain", "x")
        let direct = try coffer(["age", "encrypt", "-r", key.secret, path("plain")])
        assertCofferError(direct, status: 64, secrets: [key.secret])
        XCTAssertTrue(direct.stderrText.contains("looks like a secret key; it is not shown"), direct.stderrText)
        try write("recipients", "# ops\n\(key.recipient)\n\(key.secret.lowercased())\n")
        let fromFile = try coffer(["age", "encrypt", "-R", path("recipients"), path("plain")])
        assertCofferError(fromFile, secrets: [key.secret])
        XCTAssertTrue(fromFile.stderrText.contains("line 3"), fromFile.stderrText)
    }

    /// A whole key file, or a key with leading junk, passed as a recipient or
    /// as a file name is never echoed back.
    func testSecretKeysInOtherArgumentsAreNotEchoed() throws {
        let key = try cofferKeygen("key.txt")
        try write("plain", "x")
        let keyFile = String(decoding: try read("key.txt"), as: UTF8.self)
        for recipient in [keyFile, " " + key.secret, "x" + key.secret.lowercased()] {
            assertCofferError(try coffer(["age", "encrypt", "-r", recipient, path("plain")]), status: 64, secrets: [key.secret])
        }
        assertCofferError(try coffer(["age", "decrypt", "-i", key.secret, path("plain")]), status: 64, secrets: [key.secret])
        assertCofferError(try coffer(["age", "encrypt", "-R", key.secret, path("plain")]), status: 64, secrets: [key.secret])
    }

    /// `-o` naming the input encrypts it in place instead of destroying it.
    func testEncryptOutputOverItsOwnInput() throws {
        let key = try cofferKeygen("key.txt")
        let plaintext = canaryPlaintext(150_000)
        try write("file", plaintext)
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("file"), path("file")])
        XCTAssertEqual(try succeedCoffer(["age", "decrypt", "-i", key.identityFile, path("file")]).stdout, plaintext)
    }

    /// A decryption killed half-way leaves no plaintext file behind.
    func testKilledDecryptLeavesNoPlaintext() throws {
        let key = try cofferKeygen("key.txt")
        try write("plain", canaryPlaintext(3_000_000))
        try succeedCoffer(["age", "encrypt", "-r", key.recipient, "-o", path("data.age"), path("plain")])
        let sealed = try read("data.age")
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: coffer)
        process.arguments = ["age", "decrypt", "-i", key.identityFile, "-o", path("out"), path("fifo")]
        try process.run()
        let writer = try XCTUnwrap(FileHandle(forWritingAtPath: path("fifo")))
        writer.write(sealed.prefix(2_000_000))
        Thread.sleep(forTimeInterval: 0.3)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? writer.close()
        XCTAssertFalse(exists("out"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".coffer-tmp") }
        XCTAssertEqual(leftovers, [], "a killed decrypt left a temporary plaintext file")
    }
}
