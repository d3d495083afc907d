import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Spellings a new user tries (issue 9): global options before the
/// subcommand, git's `-n1` and `-y`. Their refusals are rows of refusals.txt.
final class CommandLineTests: VaultE2ECase {
    /// `--vault`, `--identity` and `--passphrase-file` before the subcommand, as after it.
    func testVaultAndIdentityOptionsBeforeTheSubcommand() throws {
        try initVault()
        try cofOK(["set", "a/b=before"])
        let elsewhere = path("elsewhere-identity")
        XCTAssertEqual(rename(identityFile, elsewhere), 0)
        let noDefaults = ["COFFER_VAULT": ""]

        XCTAssertEqual(try cofOK(["--vault", vaultDir, "list"], env: noDefaults).stdoutText, "ID\na/b\n")
        XCTAssertEqual(try cofOK(["--vault=\(vaultDir)", "list"], env: noDefaults).stdoutText, "ID\na/b\n")
        XCTAssertEqual(try cofOK(["--vault", vaultDir, "--identity", elsewhere, "get", "a/b", "--reveal"], env: noDefaults).stdoutText,
                       "before")
        XCTAssertEqual(try cofOK(["--identity", elsewhere, "recipients", "list", "--vault", vaultDir], env: noDefaults).status, 0)
        let passphrase = try write("pw", "not needed for an unprotected key\n")
        XCTAssertEqual(try cofOK(["--passphrase-file", passphrase, "--identity", elsewhere, "get", "a/b", "--reveal"]).stdoutText,
                       "before")
        // Without the option the default identity is gone: the option before `get` was what worked.
        XCTAssertEqual(try cof(["get", "a/b", "--reveal"]).status, 1)
    }

    /// `log -n1`, `-n 1`, `--number=1`, `--number 1` and `-ojson` all parse, as git's do.
    func testShortOptionsWithAttachedValues() throws {
        try initVault()
        try cofOK(["set", "x=1"])
        try cofOK(["set", "x=2"])
        for spelling in [["-n1"], ["-n", "1"], ["--number=1"], ["--number", "1"]] {
            let log = try cofOK(["log"] + spelling)
            XCTAssertEqual(log.stdoutText.split(separator: "\n").count, 2, "log \(spelling), a header and one row: \(log.stdoutText)")
        }
        XCTAssertEqual(try cofOK(["log", "-n2"]).stdoutText.split(separator: "\n").count, 3)
        let json = try cofOK(["log", "-n1", "-ojson"]).stdoutText
        XCTAssertTrue(json.hasPrefix("{\"changes\":["), json)
    }

    /// `-y` is `--yes` on every command that has `--yes`.
    func testYIsYesEverywhere() throws {
        try initVault()
        let bob = try cofferKeygen("bob")
        try cofOK(["set", "-y", "s=1"])
        XCTAssertEqual(try cofOK(["get", "s", "-y", "--reveal"]).stdoutText, "1")
        XCTAssertEqual(try cofOK(["list", "--show-values", "-y"]).status, 0)
        XCTAssertEqual(try cofOK(["diff", "-y", "--reveal", "HEAD~1", "HEAD"]).status, 0)
        try cofOK(["recipients", "add", bob.recipient, "--name", "bob"])
        try cofOK(["recipients", "rm", "-y", "bob"])
        XCTAssertEqual(try cofOK(["verify", "-y"]).status, 0)
    }
}
