import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer config` and the committed `.coffer-config` (issue 12, "Opt-out,
/// stated"): turning signing off is itself a signed commit, the commits after
/// it are unsigned without a warning each, turning it on again is signed and
/// so is everything after; a setting already in place makes no commit.
final class ConfigCLITests: VaultE2ECase {
    /// HEAD's commit object carries a signature, and stock git accepts it.
    private func assertHeadSigned(_ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(try gitOK(["cat-file", "-p", "HEAD"]).stdoutText.contains("\ngpgsig -----BEGIN SSH SIGNATURE-----"),
                      "\(what): HEAD is not signed", file: file, line: line)
        let verified = try git(["verify-commit", "HEAD"])
        XCTAssertEqual(verified.status, 0, "\(what): git verify-commit: \(verified.stderrText)", file: file, line: line)
    }

    private func assertHeadUnsigned(_ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(try gitOK(["cat-file", "-p", "HEAD"]).stdoutText.contains("gpgsig"), "\(what): HEAD is signed", file: file, line: line)
        XCTAssertNotEqual(try git(["verify-commit", "HEAD"]).status, 0, "\(what): git verify-commit passed", file: file, line: line)
    }

    /// `coffer set ID=VALUE` made a commit and said nothing about signing.
    private func set(_ assignment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try head()
        let result = try cofOK(["set", assignment], file: file, line: line)
        XCTAssertNotEqual(try head(), before, "\(assignment) made no commit", file: file, line: line)
        XCTAssertFalse(result.stderrText.contains("unsigned"), "set \(assignment): \(result.stderrText)", file: file, line: line)
        XCTAssertFalse(result.stderrText.contains("warning"), "set \(assignment): \(result.stderrText)", file: file, line: line)
    }

    private var configFile: String { vaultDir + "/.coffer-config" }

    func testSigningOffIsSignedAndLaterCommitsAreNot() throws {
        try initVault(name: "alice")
        XCTAssertFalse(fileExists(configFile), "init writes no .coffer-config: absent is signing on")
        try set("a=1")
        try assertHeadSigned("set before the change")

        let before = try commitCount()
        let off = try cofOK(["config", "signing", "off"])
        XCTAssertEqual(try commitCount(), before + 1)
        try assertHeadSigned("config signing off")
        XCTAssertEqual(try headChanges(), ["A .coffer-config"])
        let message = try gitOK(["log", "-1", "--format=%B"]).stdoutText
        XCTAssertTrue(message.hasPrefix("coffer: config signing=off\n\n"), message)
        XCTAssertTrue(message.contains("Coffer-Action: config\nCoffer-Config: signing=off\n"), message)
        XCTAssertTrue(off.stdout.isEmpty, off.stdoutText)
        XCTAssertTrue(off.stderrText.contains("coffer: warning: from now on coffer's commits in this vault are unsigned"), off.stderrText)
        XCTAssertTrue(off.stderrText.contains("unverified"), off.stderrText)
        let text = try String(contentsOfFile: configFile, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\nsigning = off\n"), text)

        try set("a=2")
        try assertHeadUnsigned("set while off")
        try set("b=1")
        try assertHeadUnsigned("second set while off")
        try cofOK(["rm", "b"])
        try assertHeadUnsigned("rm while off")

        try cofOK(["config", "signing", "on"])
        try assertHeadSigned("config signing on")
        XCTAssertTrue(try gitOK(["log", "-1", "--format=%B"]).stdoutText.contains("Coffer-Config: signing=on\n"))
        try set("a=3")
        try assertHeadSigned("set after turning it on again")
        try set("c=1")
        try assertHeadSigned("second set after turning it on again")
        XCTAssertEqual(try reveal("a"), Data("3".utf8))
    }

    func testTheSettingAlreadyInPlaceMakesNoCommit() throws {
        try initVault()
        let count = try commitCount()
        let on = try cofOK(["config", "signing", "on"])
        XCTAssertTrue(on.stderrText.contains("signing is already on; nothing changed (no commit)"), on.stderrText)
        XCTAssertEqual(try commitCount(), count)
        XCTAssertFalse(fileExists(configFile))

        try cofOK(["config", "signing", "off"])
        let head = try head()
        let again = try cofOK(["config", "signing", "off"])
        XCTAssertEqual(try self.head(), head, "a second `config signing off` made a commit")
        XCTAssertTrue(again.stderrText.contains("signing is already off; nothing changed (no commit)"), again.stderrText)
        XCTAssertFalse(again.stderrText.contains("warning"), again.stderrText)
    }

    func testShowsTheSettingsInEveryFormat() throws {
        try initVault()
        XCTAssertEqual(try cofOK(["config", "-o", "json"]).stdoutText, "{\"signing\":\"on\"}\n")
        XCTAssertEqual(try cofOK(["config"]).stdoutText, "SETTING  VALUE\nsigning  on\n")
        try cofOK(["config", "signing", "off"])
        XCTAssertEqual(try cofOK(["config", "-o", "json"]).stdoutText, "{\"signing\":\"off\"}\n")
        XCTAssertEqual(try cofOK(["config", "-o", "yaml"]).stdoutText, "signing: \"off\"\n")
    }

    /// A `.coffer-config` committed by hand that coffer cannot read is named,
    /// with its line; `config signing on|off` writes it anew, signed.
    func testAMalformedFileIsNamedWithItsLine() throws {
        try initVault()
        try "# by hand\n\nsigning = maybe\n".write(toFile: configFile, atomically: false, encoding: .utf8)
        try gitOK(["add", ".coffer-config"])
        try gitOK(["-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-q", "-m", "by hand"])
        let shown = try cof(["config"])
        assertCofferError(shown)
        XCTAssertTrue(shown.stderrText.hasPrefix("coffer: error: .coffer-config line 3 is not `signing = on` or `signing = off`\n"),
                      shown.stderrText)
        // A doubt never turns signing off.
        try set("a=1")
        try assertHeadSigned("set with a malformed .coffer-config")
        try cofOK(["config", "signing", "on"])
        try assertHeadSigned("config signing on over a malformed file")
        XCTAssertEqual(try cofOK(["config", "-o", "json"]).stdoutText, "{\"signing\":\"on\"}\n")
    }

    /// Only the committed file counts; an edit by hand is refused, and an
    /// unsigned commit turning signing off does not stop this clone signing.
    func testOnlyATrustedCommittedSettingTurnsSigningOff() throws {
        try initVault()
        try "signing = off\n".write(toFile: configFile, atomically: false, encoding: .utf8)
        let uncommitted = try cof(["config"], clean: false)
        assertCofferError(uncommitted)
        XCTAssertTrue(uncommitted.stderrText.contains(".coffer-config has changes that are not committed"), uncommitted.stderrText)
        assertCofferError(try cof(["config", "signing", "off"], clean: false))

        try gitOK(["add", ".coffer-config"])
        try gitOK(["-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-q", "-m", "signing off, unsigned"])
        try assertHeadUnsigned("the hand-made commit")
        try set("a=1")
        try assertHeadSigned("set after an unsigned `signing = off`")
    }

    /// A settings change that could not be signed is refused before any commit.
    func testWithoutAnIdentityTheChangeIsRefused() throws {
        try initVault()
        for suffix in ["", ".pub", ".signing"] {
            XCTAssertEqual(rename(identityFile + suffix, path("away" + suffix)), 0)
        }
        let count = try commitCount()
        let result = try cof(["config", "signing", "off"])
        assertCofferError(result)
        XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: a change of .coffer-config must be signed"), result.stderrText)
        XCTAssertEqual(try commitCount(), count)
        XCTAssertFalse(fileExists(configFile))
    }
}
