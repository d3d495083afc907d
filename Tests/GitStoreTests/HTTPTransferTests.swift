import Foundation
import GitStore
import TestServers
import XCTest

/// Smart HTTP against lighttpd and git http-backend: fetching needs no
/// password, pushing does, and the password comes from git's credential
/// helpers (a `store` file set up for the test through GIT_CONFIG_GLOBAL).
final class HTTPTransferTests: TransferTestCase {
    private var server: HTTPGitServer!
    private var actionsFile: String { dir + "/helper-actions" }
    private var storeFile: String { dir + "/credentials" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try startHTTP()
    }

    /// git config for this test only: the store helper reading `storeFile`,
    /// and a helper that records which actions git ran (get, store, erase).
    private func configureHelper(password: String) throws {
        let config = dir + "/gitconfig"
        try """
            [credential]
            \thelper = "!f() { echo \\"$1\\" >> \(actionsFile); cat >/dev/null; }; f"
            \thelper = store --file=\(storeFile)

            """.write(toFile: config, atomically: true, encoding: .utf8)
        try "http://\(server.user):\(password)@127.0.0.1:\(server.port)\n".write(toFile: storeFile, atomically: true, encoding: .utf8)
        setEnvironment("GIT_CONFIG_GLOBAL", config)
        setEnvironment("GIT_CONFIG_NOSYSTEM", "1")
    }

    private var helperActions: [String] {
        ((try? String(contentsOfFile: actionsFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testFetchWithoutPasswordPushWithPasswordFromCredentialHelper() throws {
        try configureHelper(password: server.password)
        let bare = try server.makeBareRepository("vault.git")
        try roundTrip(url: server.url("vault.git"), bare: bare, credentials: credentials(helper: true))
        XCTAssertTrue(helperActions.contains("get"), "the helpers were asked: \(helperActions)")
        XCTAssertTrue(helperActions.contains("store"), "a password that worked is approved: \(helperActions)")
        XCTAssertFalse(helperActions.contains("erase"), "\(helperActions)")

        // Fetching and cloning need no credential at all; pushing does.
        let noHelper = try credentials(helper: false)
        let clone = try GitRepository.clone(url: server.url("vault.git"), into: dir + "/third", credentials: noHelper)
        let branch = try self.branch(clone)
        XCTAssertNotNil(try clone.head())
        try commitFile(clone, "c.txt", "three\n")
        XCTAssertThrowsError(try clone.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: noHelper)) {
            XCTAssertEqual($0 as? GitError, .authenticationFailed(url: server.url("vault.git"), tried: []))
        }
    }

    func testWrongPasswordFailsCleanlyWithoutQuotingIt() throws {
        let wrong = "wrong-" + UUID().uuidString.prefix(8)
        try configureHelper(password: wrong)
        _ = try server.makeBareRepository("vault.git")
        let repo = try makeRepository()
        let branch = try self.branch(repo)
        try commitFile(repo, "a.txt", "one\n")
        try repo.addRemote(name: "origin", url: server.url("vault.git"))
        let started = Date()
        XCTAssertThrowsError(try repo.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials(helper: true))) {
            XCTAssertEqual($0 as? GitError, .authenticationFailed(url: server.url("vault.git"), tried: ["git credential fill"]))
            XCTAssertFalse("\($0)".contains(wrong), "\($0)")
            XCTAssertFalse(String(reflecting: $0).contains(wrong))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "a refused password is not retried for ever")
        XCTAssertEqual(helperActions.filter { $0 == "get" }.count, 1, "asked once: \(helperActions)")
        XCTAssertTrue(helperActions.contains("erase"), "a refused password is rejected: \(helperActions)")
        XCTAssertFalse(try String(contentsOfFile: storeFile, encoding: .utf8).contains(wrong), "the store helper forgot it")
        XCTAssertNil(try gitRevParse(repo, "refs/remotes/origin/\(branch)"))
    }

    func testNoCredentialFromHelpersFailsWithoutPrompting() throws {
        try configureHelper(password: server.password)
        try "".write(toFile: storeFile, atomically: true, encoding: .utf8)
        _ = try server.makeBareRepository("vault.git")
        let repo = try makeRepository()
        let branch = try self.branch(repo)
        try commitFile(repo, "a.txt", "one\n")
        try repo.addRemote(name: "origin", url: server.url("vault.git"))
        XCTAssertThrowsError(try repo.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials(helper: true))) {
            XCTAssertEqual($0 as? GitError, .authenticationFailed(url: server.url("vault.git"), tried: ["git credential fill (no credential)"]))
        }
    }
}
