import GitStore
import XCTest

/// Remotes and upstreams as configuration, checked against the stock git CLI.
final class RemoteConfigTests: TransferTestCase {
    func testAddListRemoveAsGitSeesThem() throws {
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: "ssh://git@example.com/team/vault.git")
        try repo.addRemote(name: "backup", url: "/srv/vault.git")
        XCTAssertEqual(try repo.remotes(), [Remote(name: "backup", url: "/srv/vault.git"),
                                            Remote(name: "origin", url: "ssh://git@example.com/team/vault.git")])
        XCTAssertEqual(try git(repo, "config", "remote.origin.fetch").output, "+refs/heads/*:refs/remotes/origin/*\n")
        try repo.removeRemote(name: "backup")
        XCTAssertEqual(try git(repo, "remote").output, "origin\n")
        XCTAssertThrowsError(try repo.removeRemote(name: "backup")) { XCTAssertEqual($0 as? GitError, .remoteNotFound("backup")) }
    }

    func testRefusesNamesGitRefusesAndDuplicates() throws {
        let repo = try makeRepository()
        for bad in ["", "a b", "a..b", "a/", "x.lock", "a:b", "a~b"] {
            XCTAssertThrowsError(try repo.addRemote(name: bad, url: "/x"), bad) {
                XCTAssertEqual($0 as? GitError, .invalidRemoteName(bad))
            }
        }
        try repo.addRemote(name: "origin", url: "/x")
        XCTAssertThrowsError(try repo.addRemote(name: "origin", url: "/y")) { XCTAssertEqual($0 as? GitError, .remoteExists("origin")) }
        XCTAssertEqual(try repo.remotes().map(\.url), ["/x"])
        XCTAssertThrowsError(try repo.fetch(remote: "nope", credentials: credentials())) {
            XCTAssertEqual($0 as? GitError, .remoteNotFound("nope"))
        }
    }

    func testUpstreamIsGitsBranchConfig() throws {
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: "/x")
        XCTAssertNil(try repo.upstream(of: "main"))
        try repo.setUpstream(branch: "main", remote: "origin", remoteBranch: "trunk")
        XCTAssertEqual(try repo.upstream(of: "main"), Upstream(remote: "origin", branch: "trunk"))
        XCTAssertEqual(try git(repo, "config", "branch.main.merge").output, "refs/heads/trunk\n")
        XCTAssertEqual(try git(repo, "config", "branch.main.remote").output, "origin\n")
        XCTAssertThrowsError(try repo.setUpstream(branch: "a..b", remote: "origin", remoteBranch: "main")) {
            XCTAssertEqual($0 as? GitError, .invalidBranchName("a..b"))
        }
    }
}
