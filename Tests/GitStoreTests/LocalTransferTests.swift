import Foundation
import GitStore
import XCTest

/// Fetch, push and clone over a local path and file://, and the outcomes
/// that do not depend on the transport: rejections, odd remote HEADs, empty remotes.
final class LocalTransferTests: TransferTestCase {
    func testRoundTripOverLocalPath() throws {
        let bare = try makeBare("remote.git")
        try roundTrip(url: bare, bare: bare, credentials: credentials())
    }

    func testRoundTripOverFileURL() throws {
        let bare = try makeBare("remote.git")
        try roundTrip(url: "file://" + bare, bare: bare, credentials: credentials())
    }

    func testNonFastForwardPushIsRejectedWithTypedError() throws {
        let bare = try makeBare("remote.git")
        let first = try makeRepository("first")
        let branch = try self.branch(first)
        try commitFile(first, "a.txt", "one\n")
        try first.addRemote(name: "origin", url: bare)
        try first.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials())
        let second = try GitRepository.clone(url: bare, into: dir + "/second", credentials: credentials())
        let theirs = try commitFile(second, "b.txt", "theirs\n")
        try second.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials())
        let ours = try commitFile(first, "c.txt", "ours\n")

        // Not knowing the remote's new tip, and then knowing it: both refused, never forced.
        for attempt in ["before fetching", "after fetching"] {
            XCTAssertThrowsError(try first.push(remote: "origin", localBranch: branch, remoteBranch: branch,
                                                credentials: credentials()), attempt) { error in
                guard case .pushRejected(let ref, _)? = error as? GitError else { return XCTFail("\(attempt): \(error)") }
                XCTAssertEqual(ref, "refs/heads/\(branch)")
            }
            XCTAssertEqual(try bareRevParse(bare, "refs/heads/\(branch)"), theirs.hex, attempt)
            _ = try first.fetch(remote: "origin", credentials: credentials())
        }
        XCTAssertEqual(try first.head(), ours)

        // Merged, it goes through.
        try git(first, "-c", "user.name=T", "-c", "user.email=t@e", "merge", "-q", "--no-edit", "refs/remotes/origin/\(branch)")
        try first.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials())
        XCTAssertEqual(try bareRevParse(bare, "refs/heads/\(branch)"), try first.head()?.hex)
    }

    func testPushOfMissingBranchIsRefused() throws {
        let bare = try makeBare("remote.git")
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: bare)
        XCTAssertThrowsError(try repo.push(remote: "origin", localBranch: "nope", remoteBranch: "nope", credentials: credentials())) {
            XCTAssertEqual($0 as? GitError, .branchNotFound("nope"))
        }
    }

    func testFetchReportsRemoteHeadAndEveryBranch() throws {
        let bare = try makeBare("remote.git", initialBranch: "trunk")
        let repo = try makeRepository()
        let branch = try self.branch(repo)
        let tip = try commitFile(repo, "a.txt", "one\n")
        try repo.addRemote(name: "origin", url: bare)
        try repo.push(remote: "origin", localBranch: branch, remoteBranch: "trunk", credentials: credentials())
        try repo.push(remote: "origin", localBranch: branch, remoteBranch: "other", credentials: credentials())
        let fetched = try repo.fetch(remote: "origin", credentials: credentials())
        XCTAssertEqual(fetched, FetchResult(remote: "origin", defaultBranch: "trunk", branches: ["trunk": tip, "other": tip]))
        XCTAssertEqual(try gitRevParse(repo, "refs/remotes/origin/other"), tip.hex)
    }

    func testCloneOfRemoteWhoseHeadNamesMissingBranchChecksOutItsBranch() throws {
        // A fresh `git init --bare` names master while the vault pushed main.
        let bare = try makeBare("remote.git", initialBranch: "master")
        let repo = try makeRepository()
        let tip = try commitFile(repo, "a.txt", "one\n")
        try repo.addRemote(name: "origin", url: bare)
        try repo.push(remote: "origin", localBranch: try branch(repo), remoteBranch: "main", credentials: credentials())
        XCTAssertNil(try bareRevParse(bare, "HEAD"), "the remote's HEAD should dangle for this test")

        let clone = try GitRepository.clone(url: bare, into: dir + "/clone", credentials: credentials())
        XCTAssertEqual(try branch(clone), "main")
        XCTAssertEqual(try clone.head(), tip)
        XCTAssertEqual(try String(contentsOfFile: clone.workTree + "/a.txt", encoding: .utf8), "one\n")
        XCTAssertEqual(try clone.upstream(of: "main"), Upstream(remote: "origin", branch: "main"))
        XCTAssertEqual(try git(clone, "status", "--porcelain").output, "", "work tree and index match HEAD")
    }

    func testCloneOfEmptyRemoteIsEmptyOnUnbornBranch() throws {
        let bare = try makeBare("remote.git")
        let clone = try GitRepository.clone(url: bare, into: dir + "/clone", credentials: credentials())
        XCTAssertNil(try clone.head())
        let branch = try self.branch(clone)
        XCTAssertEqual(try clone.upstream(of: branch), Upstream(remote: "origin", branch: branch))
        XCTAssertEqual(try clone.remotes(), [Remote(name: "origin", url: bare)])
        // Its first push creates the branch on the remote.
        let tip = try commitFile(clone, "a.txt", "one\n")
        try clone.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials())
        XCTAssertEqual(try bareRevParse(bare, "refs/heads/\(branch)"), tip.hex)
    }

    func testCloneRefusesNonEmptyDestinationAndCleansUpAfterFailure() throws {
        let bare = try makeBare("remote.git")
        try FileManager.default.createDirectory(atPath: dir + "/full", withIntermediateDirectories: true)
        try "x".write(toFile: dir + "/full/file", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GitRepository.clone(url: bare, into: dir + "/full", credentials: credentials())) {
            XCTAssertEqual($0 as? GitError, .destinationNotEmpty(path: dir + "/full"))
        }
        XCTAssertThrowsError(try GitRepository.clone(url: dir + "/missing.git", into: dir + "/clone", credentials: credentials()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/clone"), "a failed clone leaves nothing behind")
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try GitRepository.clone(url: dir + "/missing.git", into: dir + "/empty", credentials: credentials()))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/empty"), [], "an existing directory is emptied, kept")
    }

    func testConnectionToClosedPortFailsFast() throws {
        let repo = try makeRepository()
        let port = try TestServersPort.closed()
        try repo.addRemote(name: "origin", url: "ssh://git@127.0.0.1:\(port)/vault.git")
        let started = Date()
        XCTAssertThrowsError(try repo.fetch(remote: "origin", credentials: credentials())) {
            guard case .call? = $0 as? GitError else { return XCTFail("\($0)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}
