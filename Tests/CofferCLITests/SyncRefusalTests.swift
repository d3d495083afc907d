import Foundation
import XCTest

/// What `coffer sync` refuses to merge: a remote whose history was
/// rewritten since this clone fetched it (a force-push), and a remote that
/// holds another vault. Nothing is merged; the refusal holds until a person
/// fetches the new history deliberately.
final class SyncRefusalTests: SyncTestCase {
    func testAForcePushedRemoteIsRefusedUntilFetchedDeliberately() throws {
        try setUpTeam()
        let kept = value("kept"), other = value("other")
        try alice(["set", "app/kept", "--stdin"], stdin: kept)
        try syncAlice()
        try syncBob()
        // Alice rewrites the remote: her last commit replaced by another.
        try gitOK(["reset", "-q", "--hard", "HEAD~1"], in: aliceDir)
        try alice(["set", "app/other", "--stdin"], stdin: other)
        try gitOK(["push", "-q", "--force", "origin", "HEAD"], in: aliceDir)
        try bob(["set", "app/bob", "--stdin"], stdin: value("bob"))
        let head = try gitOK(["rev-parse", "HEAD"], in: bobDir).stdoutText
        for _ in 0..<2 {
            let refused = try bob(["sync"], status: 1)
            XCTAssertTrue(refused.stderrText.contains("was rewritten"), refused.stderrText)
            XCTAssertEqual(try gitOK(["rev-parse", "HEAD"], in: bobDir).stdoutText, head, "a refused sync moved HEAD")
        }
        // Fetched on purpose, the new history merges (bob keeps app/kept).
        try gitOK(["fetch", "-q", "origin"], in: bobDir)
        try syncBob()
        XCTAssertEqual(try bob(["get", "app/kept", "--reveal"]).stdoutText, kept)
        XCTAssertEqual(try bob(["get", "app/other", "--reveal"]).stdoutText, other)
    }

    func testARemoteHoldingAnotherVaultIsRefused() throws {
        try setUpTeam()
        let stranger = path("stranger")
        try cofOK(["init", stranger, "--name", "stranger"], clean: false)
        let bare = path("stranger.git")
        try gitOK(["init", "-q", "--bare", bare], in: path(""))
        try gitOK(["push", "-q", bare, "HEAD:refs/heads/" + (try currentBranch(in: aliceDir))], in: stranger)
        try alice(["remote", "add", "stranger", bare])
        let head = try gitOK(["rev-parse", "HEAD"], in: aliceDir).stdoutText
        let refused = try alice(["sync", "stranger"], status: 1)
        XCTAssertTrue(refused.stderrText.contains("shares no history"), refused.stderrText)
        XCTAssertEqual(try gitOK(["rev-parse", "HEAD"], in: aliceDir).stdoutText, head)
    }
}
