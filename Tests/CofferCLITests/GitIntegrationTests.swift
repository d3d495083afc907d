import Foundation
import XCTest

/// The stock git CLI shows sealed files through coffer's textconv driver, and
/// `coffer diff` classifies changes — neither ever shows a value unasked.
final class GitIntegrationTests: VaultE2ECase {
    func testGitLogPatchShowsTheTextconvViewAndNoValue() throws {
        _ = try initVault()
        try cofOK(["set", "db=FIRST-CANARY", "api=SECOND-CANARY"])
        try cofOK(["set", "db=THIRD-CANARY"])
        let log = try gitOK(["log", "-p"]).stdoutText
        XCTAssertTrue(log.contains("+coffer secret db"), log)
        XCTAssertTrue(log.contains("-payload: ") && log.contains("+payload: "), log)
        XCTAssertTrue(log.contains("readers: tester ("), log)
        for value in ["FIRST-CANARY", "SECOND-CANARY", "THIRD-CANARY"] { XCTAssertFalse(log.contains(value)) }
        // A fresh clone has no driver until `coffer setup`; then it shows the same view.
        let clone = path("clone")
        try gitOK(["clone", "-q", vaultDir, clone])
        XCTAssertFalse(try gitOK(["log", "-p"], in: clone).stdoutText.contains("coffer secret db"))
        try cofOK(["setup", "--vault", clone], clean: false)
        let cloned = try gitOK(["log", "-p"], in: clone).stdoutText
        XCTAssertTrue(cloned.contains("+coffer secret db"), cloned)
        XCTAssertFalse(cloned.contains("THIRD-CANARY"))
    }

    func testDiffClassifiesChangesAndRevealsOnlyWhenAsked() throws {
        _ = try initVault()
        try cofOK(["set", "keep=1", "change=2", "drop=3"])
        try cofOK(["set", "change=2b", "new=4"])
        try cofOK(["rm", "drop"])
        // Each difference with the commit that made it (abbreviated), its signer and action.
        let made = try ["HEAD~1", "HEAD"].map { try gitOK(["rev-parse", "--short=8", $0]).stdoutText.trimmingCharacters(in: .newlines) }
        let diff = try cofOK(["diff", "HEAD~2", "HEAD"]).stdoutText
        XCTAssertEqual(diff, """
            CHANGE   ID      COMMIT    SIGNED           ACTION
            changed  change  \(made[0])  verified tester  set
            removed  drop    \(made[1])  verified tester  rm
            added    new     \(made[0])  verified tester  set

            """)
        let json = try cofOK(["diff", "HEAD~2", "HEAD", "-o", "json", "--reveal", "--yes"]).stdoutText
        XCTAssertTrue(json.contains(#"{"id":"change","change":"changed","same_value":false,"commit":""#), json)
        XCTAssertTrue(json.contains(#""action":"set","old":"2","new":"2b"}"#), json)
        XCTAssertEqual(try cofOK(["diff"]).stdoutText, "", "a clean work tree has no differences")
    }

    // MARK: the branch `coffer init` starts on (issue 9)

    /// The environment of a user's own git: their ~/.gitconfig and the system config.
    private func usersGit(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["GIT_CONFIG_GLOBAL": homeDir + "/.gitconfig", "GIT_CONFIG_NOSYSTEM": "0"]
        for (k, v) in extra { environment[k] = v }
        return environment
    }

    @discardableResult
    private func usersGitOK(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try run(try requireTool("git", file: file, line: line), arguments,
                             environment: vaultEnvironment(usersGit()), file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(result.command): \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(result.command) exited \(result.status)") }
        return result
    }

    private func branch(of repository: String) throws -> String {
        try usersGitOK(["-C", repository, "symbolic-ref", "--short", "HEAD"]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testInitFollowsGitsDefaultBranch() throws {
        // Without init.defaultBranch: whatever `git init` picks here (stock git: master).
        try cofOK(["init", vaultDir, "--name", "tester"], env: usersGit())
        try usersGitOK(["init", "-q", path("plain")])
        XCTAssertEqual(try branch(of: vaultDir), try branch(of: path("plain")), "coffer init and git init differ")

        try write("home/.gitconfig", "[init]\n\tdefaultBranch = trunk\n")
        let other = path("other-vault")
        try cofOK(["init", other], env: usersGit(), clean: false)
        XCTAssertEqual(try branch(of: other), "trunk")
        try usersGitOK(["init", "-q", path("plain-trunk")])
        XCTAssertEqual(try branch(of: path("plain-trunk")), "trunk", "stock git agrees")
    }

    /// A new user's first push: a vault pushed to a fresh bare remote clones
    /// with its branch checked out, and `get` works in the clone at once.
    func testAVaultPushedToAFreshBareRemoteClonesAndReads() throws {
        try cofOK(["init", vaultDir, "--name", "tester"], env: usersGit())
        try cofOK(["set", "db/password=first-push-value"])
        let remote = path("remote.git")
        try usersGitOK(["init", "-q", "--bare", remote])
        let branch = try branch(of: vaultDir)
        try usersGitOK(["-C", vaultDir, "remote", "add", "origin", remote])
        try usersGitOK(["-C", vaultDir, "push", "-q", "-u", "origin", branch])
        let clone = path("clone")
        try usersGitOK(["clone", "-q", remote, clone])
        XCTAssertEqual(try self.branch(of: clone), branch, "the clone has its branch checked out")
        XCTAssertTrue(fileExists(sealedPath("db/password", in: clone)), "the clone's work tree holds the sealed file")
        XCTAssertEqual(try cofOK(["--vault", clone, "get", "db/password", "--reveal"], clean: false).stdoutText, "first-push-value")
        XCTAssertEqual(try cofOK(["list", "--vault", clone], clean: false).stdoutText, "ID\ndb/password\n")
        try assertVaultClean(in: clone, after: "get in the clone")
    }
}
