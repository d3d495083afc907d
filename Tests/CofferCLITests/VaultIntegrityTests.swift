import Foundation
import XCTest

/// Regression tests for the adversarial review of the vault: path conflicts,
/// readers decided by anything but committed `.recipients`, comparisons
/// against the work tree instead of HEAD, and values echoed in errors.
final class VaultIntegrityTests: VaultE2ECase {
    private func gitCommitAll(_ message: String) throws {
        try gitOK(["add", "-A"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message])
    }

    private func assertUnchanged(since head: String, _ result: CommandResult, line: UInt = #line) throws {
        XCTAssertEqual(result.status, 1, result.stderrText, line: line)
        XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText, line: line)
        XCTAssertEqual(try self.head(), head, "a refused write committed", line: line)
        XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"), line: line)
    }

    func testFilesAndDirectoriesOfOneNameNeverReplaceEachOther() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        var head = try self.head()
        try assertUnchanged(since: head, try cof(["set", "a.age/b=2"], clean: false))
        try write("vault/README", "notes\n")
        try gitCommitAll("readme")
        head = try self.head()
        try assertUnchanged(since: head, try cof(["set", "README/x=1"], clean: false))
        try cofOK(["list"])  // still usable
        XCTAssertEqual(try reveal("a"), Data("1".utf8))
    }

    func testReadersComeOnlyFromCommittedRegularRecipientsFiles() throws {
        _ = try initVault()
        let stranger = try cofferKeygen("stranger")
        let head = try self.head()
        // An uncommitted edit.
        let original = try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8)
        try (original + stranger.recipient + " # sneaky\n").write(toFile: vaultDir + "/.recipients", atomically: true, encoding: .utf8)
        try assertUnchanged(since: head, try cof(["set", "db=topsecret"], clean: false))
        // A committed line separator that hides a key inside a comment.
        try (original.dropLast() + " # ops\u{2028}" + stranger.recipient + "\n").write(toFile: vaultDir + "/.recipients", atomically: true, encoding: .utf8)
        try gitCommitAll("hidden reader")
        try assertUnchanged(since: try self.head(), try cof(["set", "db=topsecret"], clean: false))
        try original.write(toFile: vaultDir + "/.recipients", atomically: true, encoding: .utf8)
        try gitCommitAll("restore")
        // A committed symlink to a file outside the vault.
        try write("shared-recipients", stranger.recipient + "\n")
        try FileManager.default.createDirectory(atPath: vaultDir + "/prod", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: vaultDir + "/prod/.recipients", withDestinationPath: path("shared-recipients"))
        try gitCommitAll("linked scope")
        try assertUnchanged(since: try self.head(), try cof(["set", "prod/db=topsecret"], clean: false))
    }

    func testUnchangedMeansUnchangedInHead() throws {
        _ = try initVault()
        try cofOK(["set", "k=v1"])
        let first = try sealed("k")
        try cofOK(["set", "k=v2"])
        try first.write(to: URL(fileURLWithPath: sealedPath("k")))  // the work tree now holds v1, HEAD v2
        let result = try cofOK(["set", "k=v1"], clean: false)
        XCTAssertTrue(result.stderrText.contains("set k"), result.stderrText)
        XCTAssertEqual(try gitOK(["show", "HEAD:k.age"]).stdout.count > 0, true)
        try gitOK(["checkout", "--", "k.age"])
        XCTAssertEqual(try reveal("k"), Data("v1".utf8))
    }

    func testRmRemovesOnlyCommittedSecrets() throws {
        _ = try initVault()
        try write("vault/notes.age", "not a secret\n")
        let head = try self.head()
        try assertUnchanged(since: head, try cof(["rm", "notes"], clean: false))
        XCTAssertTrue(fileExists(vaultDir + "/notes.age"), "rm deleted an untracked file")
    }

    func testDetachedHeadAndNestedVaultsAreRefused() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        try gitOK(["checkout", "-q", "--detach"])
        try assertUnchanged(since: try head(), try cof(["set", "b=2"], clean: false))
        try gitOK(["checkout", "-q", "-"])
        try FileManager.default.createDirectory(atPath: vaultDir + "/sub", withIntermediateDirectories: true)
        let nested = try cof(["init", vaultDir + "/sub"], clean: false)
        XCTAssertEqual(nested.status, 1, nested.stderrText)
        XCTAssertFalse(fileExists(vaultDir + "/sub/.git"))
    }

    func testAValueTypedWhereAnIDBelongsIsNotEchoed() throws {
        _ = try initVault()
        let result = try cof(["get", "db=hunter2-CANARY"])
        XCTAssertEqual(result.status, 1)
        XCTAssertFalse(result.stderrText.contains("hunter2-CANARY"), result.stderrText)
    }
}
