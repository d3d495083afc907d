import Foundation
import XCTest

/// Writes and history read and write git's files natively: a `set`, `rm`,
/// `mv`, `history` or `log` on a plain vault loads no libgit2 (~3.5 ms of
/// every write), packs and deltas included, and says exactly what the
/// libgit2 path says (`COFFER_GIT_NATIVE=0` forces that path).
final class NativeGitTests: VaultE2ECase {
    func testWritesAndHistoryLoadNoLibgit2AndAgreeWithIt() throws {
        try initVault()
        for round in 0..<4 {
            try cofOK(["set", "app/db=value-\(round)"])
            try cofOK(["set", "app/other\(round)=x"])
        }
        // Packs with delta chains, refs packed: what a team's clone looks like after git gc.
        _ = try run("/usr/bin/env", ["git", "-C", vaultDir, "gc", "-q", "--aggressive"], environment: vaultEnvironment())
        for command in [["set", "app/db=after-gc"], ["mv", "app/other0", "app/moved"], ["rm", "app/other1"],
                        ["history", "app/db"], ["log"], ["get", "app/db", "--reveal"]] {
            let result = try cofOK(command, env: ["LD_DEBUG": "libs"])
            XCTAssertTrue(result.stderrText.contains("libsodium"), "LD_DEBUG showed no libraries")
            XCTAssertFalse(result.stderrText.contains("libgit2"), "coffer \(command.joined(separator: " ")) loaded libgit2")
        }
        let control = try cofOK(["set", "app/db=control"], env: ["LD_DEBUG": "libs", "COFFER_GIT_NATIVE": "0"])
        XCTAssertTrue(control.stderrText.contains("libgit2"), "COFFER_GIT_NATIVE=0 did not load libgit2")

        for command in [["history", "app/db"], ["log"], ["verify"]] {
            XCTAssertEqual(try cofOK(command).stdoutText, try cofOK(command, env: ["COFFER_GIT_NATIVE": "0"]).stdoutText,
                           command.joined(separator: " "))
        }
        XCTAssertEqual(try reveal("app/db"), Data("control".utf8))
        XCTAssertEqual(try reveal("app/moved"), Data("x".utf8))
        let fsck = try run("/usr/bin/env", ["git", "-C", vaultDir, "fsck", "--full", "--strict", "--no-dangling"], environment: vaultEnvironment())
        XCTAssertEqual(fsck.status, 0, fsck.stderrText)
        XCTAssertEqual(fsck.stdoutText + fsck.stderrText, "")
    }
}
