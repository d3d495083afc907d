import Foundation
import XCTest

/// What a new user met in the first hour, each fixed and held here.
final class NewUserTests: VaultE2ECase {
    private func json(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: result.stdout)
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(result.stdoutText)", file: file, line: line)
    }

    /// A scope `dir` whose only reader is `key`, committed with git.
    private func scope(_ dir: String, readers: [String]) throws {
        try FileManager.default.createDirectory(atPath: vaultDir + "/" + dir, withIntermediateDirectories: true)
        try (readers.joined(separator: "\n") + "\n").write(toFile: vaultDir + "/\(dir)/.recipients", atomically: true, encoding: .utf8)
        try gitOK(["add", "\(dir)/.recipients"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scope \(dir)"])
        // A change of readers made outside coffer is sealed for once this clone accepts it.
        try cofOK(["recipients", "accept", "--yes"])
    }

    /// A remote whose HEAD names a branch the vault never pushed (a fresh
    /// bare repository's default) clones with nothing checked out: coffer
    /// says so and names the command that fixes it.
    func testACloneWithNoCheckedOutBranchSaysWhatToRun() throws {
        _ = try initVault()
        try cofOK(["set", "app/token", "--stdin"], stdin: Data("t0ken".utf8))
        let branch = try gitOK(["branch", "--show-current"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let remote = path("remote.git"), clone = path("clone")
        try gitOK(["init", "-q", "--bare", remote], in: dir.path)
        try gitOK(["symbolic-ref", "HEAD", "refs/heads/not-\(branch)"], in: remote)
        try gitOK(["push", "-q", remote, "HEAD:refs/heads/\(branch)"])
        _ = try git(["clone", "-q", remote, clone], in: dir.path)

        let refused = try cof(["get", "app/token", "--reveal", "--vault", clone], clean: false)
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: error: \(clone) is a clone with no checked-out branch"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: check out the vault's branch: git -C \(clone) checkout \(branch)"),
                      refused.stderrText)
        try gitOK(["checkout", "-q", branch], in: clone)
        XCTAssertEqual(try cofOK(["get", "app/token", "--reveal", "--vault", clone], clean: false).stdoutText, "t0ken")
    }

    /// `--vault` may name any directory inside the vault, as the current directory may.
    func testVaultOptionAcceptsADirectoryInsideTheVault() throws {
        _ = try initVault()
        try cofOK(["set", "prod/db/password", "--stdin"], stdin: Data("pw".utf8))
        let listed = try cofOK(["list", "--vault", vaultDir + "/prod/db"], env: ["COFFER_VAULT": ""])
        XCTAssertEqual(listed.stdoutText.split(separator: "\n").last.map(String.init), "prod/db/password", listed.stdoutText)
        let outside = try cof(["list", "--vault", dir.path], env: ["COFFER_VAULT": ""])
        XCTAssertEqual(outside.status, 1)
        XCTAssertTrue(outside.stderrText.contains("is not inside a coffer vault"), outside.stderrText)
    }

    /// `rotate` rotates what you read and names the scopes it skipped;
    /// only `--strict` turns a skip into a failure.
    func testRotateSkipsScopesYouDoNotReadAndNamesThem() throws {
        _ = try initVault(name: "owner")
        let bob = try cofferKeygen("bob")
        try scope("team", readers: [bob.recipient + " # bob"])
        try cofOK(["set", "mine=1"])
        try cofOK(["set", "team/theirs=2", "--yes"])
        let before = try sealed("team/theirs")

        let rotated = try cofOK(["rotate", "-o", "json"])
        let report = try json(rotated)
        XCTAssertEqual(report["rotated"] as? [String], ["mine"], rotated.stdoutText)
        XCTAssertEqual(report["skipped_scopes"] as? [String], ["team"], rotated.stdoutText)
        XCTAssertTrue(rotated.stderrText.contains("coffer: warning: skipped team: you are not a reader there"), rotated.stderrText)
        XCTAssertEqual(try sealed("team/theirs"), before, "a skipped scope is left as it was")

        let strict = try cof(["rotate", "--strict"])
        XCTAssertEqual(strict.status, 1, strict.stderrText)
        XCTAssertTrue(strict.stderrText.contains("skipped team"), strict.stderrText)
    }

    /// Removing a reader who is some scope's only reader names that scope and
    /// says how to go on; the advice about exposed values says to change them.
    func testRemovingTheOnlyReaderOfAScopeNamesItAndAdvisesChangingValues() throws {
        _ = try initVault(name: "owner")
        let bob = try cofferKeygen("bob")
        try scope("ops", readers: [bob.recipient + " # bob"])
        try cofOK(["recipients", "add", bob.recipient, "--name", "bob"])
        try cofOK(["set", "shared/key", "--stdin"], stdin: Data("k".utf8))
        let commits = try commitCount()

        let refused = try cof(["recipients", "rm", "bob"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("coffer: error: bob is the only reader of ops"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("--scope"), refused.stderrText)
        XCTAssertEqual(try commitCount(), commits, "nothing was changed")

        let removed = try cofOK(["recipients", "rm", "bob", "--scope", "/"])
        XCTAssertEqual(removed.stdoutText, "ID\nshared/key\n", "the exposed ids on stdout, under a header")
        XCTAssertTrue(removed.stderrText.contains("change those values"), removed.stderrText)
        XCTAssertFalse(removed.stderrText.contains("coffer rotate"), "rotate keeps values: \(removed.stderrText)")
    }

    /// After `rotate`, history says rekey and diff says the value is the same
    /// (it decrypts both sides); without a key that opens them, only
    /// "re-encrypted" — never "changed" for values it did not compare.
    func testHistoryAndDiffTellARekeyFromANewValue() throws {
        _ = try initVault()
        try cofOK(["set", "a", "--stdin"], stdin: Data("one".utf8))
        try cofOK(["rotate"])
        let history = try json(try cofOK(["history", "a", "-o", "json"]))
        let versions = try XCTUnwrap(history["versions"] as? [[String: Any]])
        XCTAssertEqual(versions.map { $0["change"] as? String }, ["rekey", "created"])
        XCTAssertEqual(versions.map { $0["action"] as? String }, ["rotate", "set"])

        let diff = try json(try cofOK(["diff", "HEAD~1", "HEAD", "-o", "json"]))
        let row = try XCTUnwrap((diff["differences"] as? [[String: Any]])?.first)
        XCTAssertEqual(row["change"] as? String, "re-encrypted")
        XCTAssertEqual(row["same_value"] as? Bool, true)

        let stranger = try cofferKeygen("stranger")
        let blind = try json(try cofOK(["diff", "HEAD~1", "HEAD", "-o", "json", "--identity", stranger.identityFile]))
        let blindRow = try XCTUnwrap((blind["differences"] as? [[String: Any]])?.first)
        XCTAssertEqual(blindRow["change"] as? String, "re-encrypted")
        XCTAssertTrue(blindRow["same_value"] is NSNull, "not compared: \(blindRow)")

        try cofOK(["set", "a", "--stdin"], stdin: Data("two".utf8))
        try cofOK(["rm", "a"])
        try cofOK(["restore", "a"])
        let after = try json(try cofOK(["history", "a", "-o", "json"]))
        let changes = try XCTUnwrap(after["versions"] as? [[String: Any]]).map { $0["change"] as? String }
        XCTAssertEqual(changes, ["restored", "deleted", "value", "rekey", "created"])
        let changed = try json(try cofOK(["diff", "HEAD~3", "HEAD~2", "-o", "json"]))
        XCTAssertEqual((changed["differences"] as? [[String: Any]])?.first?["change"] as? String, "changed")
    }

    /// The guard against sealing what you could not read back also works
    /// with a passphrase-protected identity: the public-key sidecar names
    /// the key without the passphrase. (The commit, once agreed to, needs
    /// it: every commit is signed with the identity's signing key.)
    func testSetGuardsAProtectedIdentityWithoutAskingForItsPassphrase() throws {
        _ = try initVault(name: "owner")
        let bob = try cofferKeygen("bob")
        try scope("theirs", readers: [bob.recipient + " # bob"])
        let passphrase = try write("passphrase", "a long enough passphrase\n")
        try cofOK(["identity", "passwd", "--new-passphrase-file", passphrase])
        let commits = try commitCount()
        let refused = try cof(["set", "theirs/x=1"])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: warning: you will not be able to read the secrets of theirs afterwards"),
                      refused.stderrText)
        XCTAssertEqual(try commitCount(), commits)
        try cofOK(["set", "theirs/x=1", "--yes", "--passphrase-file", passphrase])
        XCTAssertEqual(try commitCount(), commits + 1)
    }
}
