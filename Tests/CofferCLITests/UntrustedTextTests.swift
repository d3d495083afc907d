import Foundation
import XCTest

/// Text that reaches the terminal from outside — a commit author, a
/// trailer, a file name pushed into the tree — is shown escaped, so it
/// cannot move the cursor, recolour or clear the screen.
final class UntrustedTextTests: VaultE2ECase {
    private let escape = "\u{1B}"

    private func assertEscaped(_ result: CommandResult, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.stdoutText.contains(escape), "a raw ESC reached stdout: \(result.command)", file: file, line: line)
        XCTAssertFalse(result.stderrText.contains(escape), "a raw ESC reached stderr: \(result.command)", file: file, line: line)
        XCTAssertTrue(result.stdoutText.contains(mentions), "\(result.command) should show \(mentions): \(result.stdoutText)",
                      file: file, line: line)
    }

    func testAuthorsTrailersAndFileNamesAreShownEscaped() throws {
        _ = try initVault()
        // An author with an escape sequence: coffer records git's configured name.
        try gitOK(["config", "user.name", "ev\(escape)[2Jil"])
        try gitOK(["config", "user.email", "evil@example.invalid"])
        try cofOK(["set", "a", "--stdin"], stdin: Data("v".utf8))
        // A commit made by hand whose trailer names an id with an escape.
        try gitOK(["commit", "-q", "--allow-empty", "-m", "hand\n\nCoffer-Action: set\nCoffer-Id: x\(escape)[31mred\n"])
        // A file name with an escape, dropped into the tree (an orphan).
        try Data("junk".utf8).write(to: URL(fileURLWithPath: vaultDir + "/bad\(escape)name.age"))

        assertEscaped(try cofOK(["history", "a"], clean: false), mentions: "ev\\x1b[2Jil")
        assertEscaped(try cofOK(["log"], clean: false), mentions: "x\\x1b[31mred")
        assertEscaped(try cofOK(["log"], clean: false), mentions: "ev\\x1b[2Jil")
        let verify = try cof(["verify"], clean: false)
        XCTAssertEqual(verify.status, 1, "the orphan is drift")
        assertEscaped(verify, mentions: "bad\\x1bname.age")
        // JSON escapes them as JSON does.
        let json = try cofOK(["log", "-o", "json"], clean: false)
        XCTAssertFalse(json.stdoutText.contains(escape))
        XCTAssertTrue(json.stdoutText.contains("x\\u001b[31mred"), json.stdoutText)
    }
}
