import Foundation
import XCTest

/// A teammate with push access appends their key to a scope's `.recipients`
/// (or pushes a sub-scope that leaves a reader out). After the pull, nothing
/// coffer does may seal for that key or drop that reader until this clone
/// accepts the change with `coffer recipients accept`.
final class AcceptedReadersTests: VaultE2ECase {
    private var remote: String { path("remote.git") }
    private var other: String { path("other") }
    private var bob = "", mallory = "", carol = ""

    /// A vault with prod/a read by the tester and bob, pushed to a bare
    /// remote and cloned into `other`.
    private func setUpSharedVault() throws {
        try initVault()
        bob = try newKey("bob")
        mallory = try newKey("mallory")
        carol = try newKey("carol")
        try cofOK(["set", "prod/a", "--stdin"], stdin: Data(canary("prod-a").utf8))
        try cofOK(["recipients", "add", bob, "--name", "bob", "--scope", "prod"])
        try gitOK(["init", "-q", "--bare", remote], in: path(""))
        try gitOK(["remote", "add", "origin", remote])
        try gitOK(["push", "-q", "-u", "origin", "HEAD"])
        try gitOK(["clone", "-q", remote, other], in: path(""))
    }

    private func newKey(_ name: String) throws -> String {
        let result = try cofOK(["identity", "new", "--identity", path(name + ".key")], clean: false)
        return String(result.stdoutText.split(separator: "\n").first { $0.hasPrefix("age1") } ?? "")
    }

    /// Commits everything in `other` as Mallory, pushes, and pulls into the vault.
    private func pushAsMallory(_ message: String) throws {
        try gitOK(["add", "-A"], in: other)
        try gitOK(["-c", "user.name=Mallory", "-c", "user.email=mallory@example.com", "commit", "-q", "-m", message], in: other)
        try gitOK(["push", "-q"], in: other)
        try gitOK(["pull", "-q", "--ff-only"])
    }

    private func appendMallory() throws {
        let file = other + "/prod/.recipients"
        try (String(contentsOfFile: file, encoding: .utf8) + "\(mallory) # mallory\n").write(toFile: file, atomically: false, encoding: .utf8)
    }

    private func shortHead(in directory: String) throws -> String { String(try head(in: directory).prefix(12)) }

    /// Each command must fail, name `reader` and `commit`, and write nothing.
    private func assertRefused(_ commands: [[String]], naming reader: String, commit: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        for command in commands {
            let before = try head(), files = snapshot()
            let result = try cof(command, stdin: Data(canary("new").utf8), file: file, line: line)
            XCTAssertNotEqual(result.status, 0, "\(command) went ahead: \(result.stderrText)", file: file, line: line)
            XCTAssertTrue(result.stderrText.contains(reader), "\(command) does not name \(reader): \(result.stderrText)", file: file, line: line)
            XCTAssertTrue(result.stderrText.contains(commit), "\(command) does not name commit \(commit): \(result.stderrText)", file: file, line: line)
            XCTAssertTrue(result.stderrText.contains("Mallory"), "\(command) does not name the author: \(result.stderrText)", file: file, line: line)
            XCTAssertEqual(try head(), before, "\(command) committed", file: file, line: line)
            assertSameSnapshot(files, snapshot(), "\(command)", file: file, line: line)
        }
    }

    func testAPulledReaderIsRefusedEverywhereUntilAccepted() throws {
        try setUpSharedVault()
        try appendMallory()
        try pushAsMallory("tidy up")
        let commit = try shortHead(in: other)

        try assertRefused([["set", "prod/new", "--stdin"], ["rotate"], ["verify", "--fix", "--yes"],
                           ["recipients", "add", carol, "--name", "carol", "--scope", "prod"]],
                          naming: "mallory", commit: commit)
        // verify names the reader and the commit, as JSON too.
        let report = try cof(["verify", "-o", "json"])
        XCTAssertEqual(report.status, 1)
        XCTAssertTrue(report.stdoutText.contains(#""kind":"unaccepted-reader""#), report.stdoutText)
        XCTAssertTrue(report.stdoutText.contains(#""name":"mallory""#) && report.stdoutText.contains(commit), report.stdoutText)
        // Without a terminal and without --yes, accept refuses and changes nothing.
        XCTAssertNotEqual(try cof(["recipients", "accept", "--scope", "prod"]).status, 0)
        XCTAssertNotEqual(try cof(["set", "prod/new", "--stdin"], stdin: Data("x".utf8)).status, 0)
        // No file was ever sealed for mallory.
        for id in ["prod/a"] { XCTAssertNotEqual(try ageDecrypt(sealedPath(id), identity: path("mallory.key")).status, 0) }

        let accepted = try cofOK(["recipients", "accept", "--scope", "prod", "--yes"])
        XCTAssertTrue(accepted.stderrText.contains("mallory") && accepted.stderrText.contains(commit), accepted.stderrText)
        let value = canary("accepted")
        try cofOK(["set", "prod/new", "--stdin"], stdin: Data(value.utf8))
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/new"), identity: path("mallory.key")).stdoutText, value)
        try cofOK(["rotate"])
        try cofOK(["verify", "--fix", "--yes"])
        try cofOK(["recipients", "add", carol, "--name", "carol", "--scope", "prod"])
        try cofOK(["verify"])
    }

    func testRemovingAPulledReaderNeedsNoAcceptance() throws {
        try setUpSharedVault()
        try appendMallory()
        try pushAsMallory("tidy up")
        try cofOK(["recipients", "rm", "mallory", "--scope", "prod"])
        try cofOK(["set", "prod/new", "--stdin"], stdin: Data("v".utf8))
        try cofOK(["verify"])
    }

    /// Names are labels: a pushed edit that swaps them (same keys, so
    /// nothing to accept) must not make `recipients rm NAME` remove another
    /// key than the one this clone accepted under that name.
    func testRemovingByANameThatAPushMovedIsRefused() throws {
        try setUpSharedVault()
        let file = other + "/prod/.recipients"
        let swapped = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "# bob", with: "# SWAP").replacingOccurrences(of: "# tester", with: "# bob")
            .replacingOccurrences(of: "# SWAP", with: "# tester")
        try swapped.write(toFile: file, atomically: false, encoding: .utf8)
        try pushAsMallory("tidy up names")
        let before = try head(), files = snapshot()
        let refused = try cof(["recipients", "rm", "bob", "--scope", "prod", "--yes"])
        XCTAssertNotEqual(refused.status, 0, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("not the key this clone accepted"), refused.stderrText)
        XCTAssertEqual(try head(), before)
        assertSameSnapshot(files, snapshot(), "recipients rm by a moved name")
        // By key, it does what it says.
        try cofOK(["recipients", "rm", bob, "--scope", "prod"])
        XCTAssertFalse(try String(contentsOfFile: vaultDir + "/prod/.recipients", encoding: .utf8).contains(bob))
    }

    func testAPulledSubScopeThatDropsAReaderIsRefusedUntilAccepted() throws {
        try setUpSharedVault()
        try cofOK(["set", "prod/db/password", "--stdin"], stdin: Data(canary("db").utf8))
        try gitOK(["push", "-q"])
        try gitOK(["pull", "-q", "--ff-only"], in: other)
        // A new prod/db/.recipients without bob: the secrets there would be re-sealed without him.
        let kept = try String(contentsOfFile: other + "/prod/.recipients", encoding: .utf8).split(separator: "\n").filter { !$0.contains(bob) }
        try (kept.joined(separator: "\n") + "\n").write(toFile: other + "/prod/db/.recipients", atomically: false, encoding: .utf8)
        try pushAsMallory("split db")
        let commit = try shortHead(in: other)

        try assertRefused([["set", "prod/db/new", "--stdin"], ["rotate"], ["verify", "--fix", "--yes"],
                           ["recipients", "add", carol, "--name", "carol", "--scope", "prod/db"]],
                          naming: "bob", commit: commit)
        try cofOK(["recipients", "accept", "--scope", "prod/db", "--yes"])
        try cofOK(["set", "prod/db/new", "--stdin"], stdin: Data("v".utf8))
        XCTAssertNotEqual(try ageDecrypt(sealedPath("prod/db/new"), identity: path("bob.key")).status, 0)
        try cofOK(["verify", "--fix", "--yes"])
        try cofOK(["verify"])
    }

    /// A clone coffer wrote before it kept accepted readers seeds them from its
    /// own newest commit: a line pulled since is not accepted by the upgrade.
    /// A clone coffer never wrote trusts HEAD on first use, and says so.
    func testSeedingTrustsOnlyWhatThisCloneSealedFor() throws {
        try setUpSharedVault()
        try appendMallory()
        try pushAsMallory("tidy up")
        try FileManager.default.removeItem(atPath: vaultDir + "/.git/coffer/accepted-readers")
        let upgraded = try cof(["set", "prod/new", "--stdin"], stdin: Data("v".utf8))
        XCTAssertNotEqual(upgraded.status, 0)
        XCTAssertTrue(upgraded.stderrText.contains("newest one coffer made"), upgraded.stderrText)
        XCTAssertTrue(upgraded.stderrText.contains("mallory"), upgraded.stderrText)

        let fresh = path("fresh")
        try gitOK(["clone", "-q", remote, fresh], in: path(""))
        let first = try cofOK(["set", "prod/new", "--stdin", "--vault", fresh], stdin: Data("v".utf8), clean: false)
        XCTAssertTrue(first.stderrText.contains("first use"), first.stderrText)
        XCTAssertTrue(first.stderrText.contains("mallory") && first.stderrText.contains("bob"), first.stderrText)
        let second = try cofOK(["set", "prod/other", "--stdin", "--vault", fresh], stdin: Data("v".utf8), clean: false)
        XCTAssertFalse(second.stderrText.contains("first use"), "seeded twice: \(second.stderrText)")
    }
}
