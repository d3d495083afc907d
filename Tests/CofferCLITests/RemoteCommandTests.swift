import Foundation
import XCTest

/// `coffer remote`: a password written into a URL is kept (git needs it)
/// but never shown, and adding one says where it is kept.
final class RemoteCommandTests: VaultE2ECase {
    func testAPasswordInARemoteURLIsNeverShown() throws {
        try initVault()
        let added = try cofOK(["remote", "add", "origin", "https://deploy:hunter2-remote@git.example.com/team/vault.git"])
        XCTAssertTrue(added.stderrText.contains("holds a password"), added.stderrText)
        let table = try cofOK(["remote", "list"])
        XCTAssertTrue(table.stdoutText.contains("https://deploy@git.example.com/team/vault.git"), table.stdoutText)
        let json = try cofOK(["remote", "list", "-o", "json"])
        for result in [added, table, json] {
            assertDoesNotContain(result.stdout + result.stderr, Data("hunter2-remote".utf8), result.command)
        }
        try cofOK(["remote", "rm", "origin"])
        XCTAssertFalse(try cofOK(["remote", "list"]).stdoutText.contains("origin"))
    }
}
