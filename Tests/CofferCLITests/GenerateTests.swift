import Foundation
import XCTest

/// `coffer generate` end to end: values as asked, sealed and committed once,
/// never printed without --reveal, never in a commit message or git object.
final class GenerateTests: VaultE2ECase {
    func testDefaultValueIsCommittedOnceAndNeverShown() throws {
        try initVault()
        let before = try commitCount()
        let result = try cofOK(["generate", "prod/db/password"])
        XCTAssertEqual(result.stdoutText, "")
        XCTAssertEqual(result.stderrText, "generated prod/db/password: 32 characters (alnum), 190 bits of entropy\n")
        XCTAssertEqual(try commitCount(), before + 1)
        XCTAssertEqual(try headChanges(), ["A prod/db/password.age"])
        try assertLastAudit("generate", ids: ["prod/db/password"], commit: try head())
        let value = try reveal("prod/db/password")
        assertDoesNotContain(try Data(contentsOf: URL(fileURLWithPath: auditLogPath)), value, "the audit log")
        XCTAssertNotNil(String(decoding: value, as: UTF8.self).range(of: "^[A-Za-z0-9]{32}$", options: .regularExpression),
                        "not 32 alnum characters")
        try assertNowhereInClear(value, besides: [result])
        // The stock age tool opens it to the same bytes.
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/db/password")).stdout, value)
        let log = try gitOK(["log", "-1", "--format=%B"]).stdoutText
        XCTAssertEqual(log, "coffer: generate prod/db/password\n\nCoffer-Action: generate\nCoffer-Id: prod/db/password\n\n")
    }

    func testAWeakValueIsMadeWithAWarning() throws {
        try initVault()
        let weak = try cofOK(["generate", "pin", "--words", "1"])
        XCTAssertTrue(weak.stderrText.hasPrefix("generated pin: 1 word, 12 bits of entropy\ncoffer: warning: 12 bits can be guessed"), weak.stderrText)
        XCTAssertFalse(try cofOK(["generate", "ok", "--length", "11"]).stderrText.contains("warning"), "65 bits is enough")
    }

    func testLengthsAndCharsetsAsAsked() throws {
        try initVault()
        let cases: [(arguments: [String], pattern: String)] = [
            (["--length", "1"], "^[A-Za-z0-9]$"),
            (["--length", "100", "--charset", "alnum"], "^[A-Za-z0-9]{100}$"),
            (["--charset", "symbols"], #"^[!-~]{32}$"#),
            (["--charset", "symbols", "--length", "1024"], #"^[!-~]{1024}$"#),
            (["--charset", "hex", "--length", "64"], "^[0-9a-f]{64}$"),
            (["--charset", "base64", "--length", "43"], "^[A-Za-z0-9+/]{43}$"),
            (["--charset", "words"], "^[a-z]+(-[a-z]+){5,9}$"),
            (["--words", "3"], "^[a-z]+(-[a-z]+){2,5}$"),
            (["--charset", "words", "--words", "12"], "^[a-z]+(-[a-z]+){11,23}$"),
        ]
        for (n, (arguments, pattern)) in cases.enumerated() {
            let result = try cofOK(["generate", "v/\(n)"] + arguments)
            let value = try reveal("v/\(n)")
            let text = String(decoding: value, as: UTF8.self)
            XCTAssertNotNil(text.range(of: pattern, options: .regularExpression), "\(arguments): \(text)")
            try assertNowhereInClear(value, besides: [result])
        }
        // Symbols are drawn from punctuation too: 1,024 characters without one would be a 2^-380 event.
        XCTAssertNotNil(String(decoding: try reveal("v/3"), as: UTF8.self).range(of: "[^A-Za-z0-9]", options: .regularExpression))
    }

    func testTwoGeneratesDiffer() throws {
        try initVault()
        try cofOK(["generate", "a"])
        try cofOK(["generate", "b"])
        try cofOK(["generate", "c", "--words", "6"])
        try cofOK(["generate", "d", "--words", "6"])
        XCTAssertNotEqual(try reveal("a"), try reveal("b"))
        XCTAssertNotEqual(try reveal("c"), try reveal("d"))
    }

    func testRevealPrintsTheCommittedValueOnly() throws {
        try initVault()
        let result = try cofOK(["generate", "api/key", "--charset", "hex", "--length", "40", "--reveal"])
        XCTAssertEqual(result.stdout.count, 40, "the value with no newline (not a terminal)")
        XCTAssertEqual(result.stdout, try reveal("api/key"))
        assertDoesNotContain(result.stderr, result.stdout, "the value on stderr")
    }

    func testAnExistingIDIsReplacedOnlyWithReplace() throws {
        try initVault()
        try cofOK(["set", "db/password", "--stdin"], stdin: Data("old-value".utf8))
        let head = try self.head()
        let refused = try cof(["generate", "db/password"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("--replace"), refused.stderrText)
        XCTAssertEqual(try self.head(), head)
        XCTAssertEqual(try reveal("db/password"), Data("old-value".utf8))

        try cofOK(["generate", "db/password", "--replace", "--words", "5"])
        XCTAssertEqual(try commitCount(), try commitCount(at: head) + 1)
        let value = try reveal("db/password")
        XCTAssertNotEqual(value, Data("old-value".utf8))
        let history = try cofOK(["history", "db/password", "-o", "json"]).stdoutText
        XCTAssertTrue(history.contains(#""action":"generate","change":"value""#), history)
    }

    /// Into a scope the user does not read: the same question as `set`, so
    /// without a terminal it needs --yes.
    func testAScopeIDoNotReadNeedsYes() throws {
        try initVault()
        let other = try cofferKeygen("other-key")
        try FileManager.default.createDirectory(atPath: vaultDir + "/ops", withIntermediateDirectories: true)
        try Data("\(other.recipient) # other\n".utf8).write(to: URL(fileURLWithPath: vaultDir + "/ops/.recipients"))
        try gitOK(["add", "ops/.recipients"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ops readers"])
        try cofOK(["recipients", "accept", "--yes"])
        let head = try self.head()
        let refused = try cof(["generate", "ops/token"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("coffer: error: not done: you will not be able to read the secrets of ops"),
                      refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: pass --yes"), refused.stderrText)
        XCTAssertEqual(try self.head(), head)
        try cofOK(["generate", "ops/token", "--yes"])
        XCTAssertEqual(try headChanges(), ["A ops/token.age"])
    }

    // MARK: helpers

    func commitCount(at revision: String) throws -> Int {
        Int(try gitOK(["rev-list", "--count", revision]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// `value` appears in none of `results`' output, in no commit message and
    /// in no git object as git inflates it, nor in any file of the vault.
    /// Values under 16 bytes are not looked for: they turn up by chance.
    func assertNowhereInClear(_ value: Data, besides results: [CommandResult],
                              file: StaticString = #filePath, line: UInt = #line) throws {
        guard value.count >= 16 else { return }
        for result in results {
            assertDoesNotContain(result.stdout, value, "the value on stdout", file: file, line: line)
            assertDoesNotContain(result.stderr, value, "the value on stderr", file: file, line: line)
        }
        let messages = try gitOK(["log", "--all", "--format=%B"], file: file, line: line).stdout
        assertDoesNotContain(messages, value, "the value in a commit message", file: file, line: line)
        let objects = try gitOK(["cat-file", "--batch-all-objects", "--batch"], file: file, line: line).stdout
        XCTAssertGreaterThan(objects.count, 0, file: file, line: line)
        assertDoesNotContain(objects, value, "the value in a git object", file: file, line: line)
        for (path, bytes) in snapshot() {
            assertDoesNotContain(bytes, value, "the value in \(path)", file: file, line: line)
        }
    }
}
