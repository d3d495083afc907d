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
        let diff = try cofOK(["diff", "HEAD~2", "HEAD"]).stdoutText
        XCTAssertEqual(diff, "CHANGE   ID\nchanged  change\nremoved  drop\nadded    new\n")
        let json = try cofOK(["diff", "HEAD~2", "HEAD", "-o", "json", "--reveal", "--yes"]).stdoutText
        XCTAssertTrue(json.contains(#"{"id":"change","change":"changed","old":"2","new":"2b"}"#), json)
        XCTAssertEqual(try cofOK(["diff"]).stdoutText, "", "a clean work tree has no differences")
    }
}
