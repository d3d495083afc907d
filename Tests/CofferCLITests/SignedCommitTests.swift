import Foundation
import XCTest

/// Every commit coffer makes carries an SSH signature that stock git
/// accepts once `coffer setup` (or `init`) configured the clone: `git
/// verify-commit` and `git log --show-signature` against the vault's
/// `.signers` (issue 12, signed commits).
final class SignedCommitTests: VaultE2ECase {
    private let prodDir = "prod"
    private var prodVault: String { path(prodDir) }
    private var prodKey: String { path("prod.key") }

    /// HEAD (of `directory`'s vault) moved past `before` and stock git says it is signed by a key in `.signers`.
    private func assertSigned(_ what: String, after before: String?, in directory: String? = nil,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try requireTool("ssh-keygen", file: file, line: line)
        let commit = try head(in: directory, file: file, line: line)
        XCTAssertNotEqual(commit, before, "\(what) made no commit", file: file, line: line)
        let verified = try git(["verify-commit", commit], in: directory, file: file, line: line)
        XCTAssertEqual(verified.status, 0, "\(what): git verify-commit: \(verified.stderrText)", file: file, line: line)
        let shown = try gitOK(["log", "--show-signature", "-1", commit], in: directory, file: file, line: line).stdoutText
        XCTAssertTrue(shown.contains("Good \"git\" signature for "), "\(what): \(shown)", file: file, line: line)
    }

    /// Runs `coffer ARGS` (which must succeed) and checks its commit is signed.
    private func signed(_ arguments: [String], in directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try head(in: directory, file: file, line: line)
        if let directory {
            let result = try cof(arguments + ["--vault", directory, "--identity", prodKey], clean: false, file: file, line: line)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderrText)", file: file, line: line)
            try assertVaultClean(in: directory, after: arguments.joined(separator: " "), file: file, line: line)
        } else {
            try cofOK(arguments, file: file, line: line)
        }
        try assertSigned(arguments.joined(separator: " "), after: before, in: directory, file: file, line: line)
    }

    private func handMadeCommit(_ message: String) throws {
        try gitOK(["-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-q", "--allow-empty", "-a", "-m", message])
    }

    func testEveryCommitCofferMakesPassesGitVerifyCommit() throws {
        try initVault(name: "alice")
        try assertSigned("init", after: nil)
        try cofOK(["setup"])
        XCTAssertEqual(try gitOK(["config", "--local", "gpg.format"]).stdoutText, "ssh\n")
        let allowed = try gitOK(["config", "--local", "gpg.ssh.allowedSignersFile"]).stdoutText.trimmingCharacters(in: .newlines)
        XCTAssertTrue(allowed.hasPrefix("/") && allowed.hasSuffix("/vault/.signers") && fileExists(allowed), allowed)

        try signed(["set", "a=1", "b=2", "app/c=3"])
        try signed(["mv", "a", "d"])
        try signed(["rm", "b"])
        try signed(["restore", "b"])
        try signed(["set", "d=4"])
        try signed(["rollback", "d", "--to", "HEAD~1"])
        let bob = try cofferKeygen("bob.key")
        try signed(["recipients", "add", bob.recipient, "--name", "bob"])
        try signed(["recipients", "rm", "bob"])
        try signed(["rotate"])

        // Drift to fix: a reader added by hand (and accepted), whom the sealed files do not name yet.
        let carol = try cofferKeygen("carol.key")
        let recipients = try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8)
        try (recipients + carol.recipient + " # carol\n").write(toFile: vaultDir + "/.recipients", atomically: false, encoding: .utf8)
        try handMadeCommit("add carol by hand")
        let unsigned = try git(["verify-commit", "HEAD"])
        XCTAssertNotEqual(unsigned.status, 0, "a hand-made commit passed: \(unsigned.stderrText)")
        XCTAssertFalse(try gitOK(["log", "--show-signature", "-1"]).stdoutText.contains("Good \"git\" signature"))
        try cofOK(["recipients", "accept", "--yes"])
        try signed(["verify", "--fix", "--yes"])

        // A bundle into a second vault, which trusts this one's signing key.
        try cofOK(["identity", "new", "--identity", prodKey], clean: false)
        let prodRecipient = try cofOK(["identity", "show", "--identity", prodKey], clean: false).stdoutText.ageLines
        try cofOK(["init", prodVault, "--name", "prod", "--identity", prodKey], clean: false)
        try assertSigned("init of prod", after: nil, in: prodVault)
        try signed(["signers", "add", try signingKeyLine(), "--name", "alice"], in: prodVault)
        let bundle = path("app.bundle")
        try cofOK(["export", "app", "--to", prodRecipient, "-o", bundle], clean: false)
        try signed(["import", bundle], in: prodVault)
        try signed(["signers", "rm", "alice"], in: prodVault)

        // Signed by the new key, the one the .signers it commits names.
        try signed(["identity", "rotate"])
        try signed(["set", "after/rotate=1"])
    }

    /// One passphrase entry per command, whether the command reads secrets,
    /// signs its commit, or both; a wrong one makes no commit.
    func testAProtectedIdentitySignsWithOnePassphraseEntry() throws {
        let passphrase = "a long enough passphrase"
        let pw = try write("pw", passphrase + "\n")
        try cofOK(["identity", "new", "--protect", "--passphrase-file", pw])
        try cofOK(["init", vaultDir, "--name", "carol", "--passphrase-file", pw])
        try assertSigned("init", after: nil)
        try signed(["set", "s=1", "--passphrase-file", pw])

        // On a terminal: `set` of an existing id reads it (to compare) and signs; `set` of a new one only signs.
        for (value, what) in [("s=2", "read and sign"), ("t=1", "sign only")] {
            let before = try head()
            let environment = vaultEnvironment().sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let result = try runOnTerminal(["/usr/bin/env"] + environment + [coffer, "set", value], passphrase: passphrase, maxAnswers: 3)
            XCTAssertEqual(result.status, 0, "\(what): \(result.stdoutText)")
            let prompts = result.stdoutText.components(separatedBy: "Passphrase for identity").count - 1
            XCTAssertEqual(prompts, 1, "\(what): asked \(prompts) times: \(result.stdoutText)")
            try assertSigned(what, after: before)
        }

        // A wrong passphrase, or none to be had, fails the write before its commit.
        let wrong = try write("wrong", "not the passphrase\n")
        for extra in [["--passphrase-file", wrong], []] {
            let before = try head()
            let result = try cof(["set", "u=1"] + extra)
            XCTAssertEqual(result.status, 1, "committed with \(extra): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText)
            XCTAssertEqual(try head(), before, "HEAD moved")
            XCTAssertFalse(fileExists(sealedPath("u")))
        }
        XCTAssertEqual(try reveal("s", passphraseFile: pw), Data("2".utf8))
    }

    /// A box that only seals (no identity at all) commits unsigned, and says so.
    func testWithoutAnIdentityTheCommitIsUnsignedAndSaysSo() throws {
        try initVault()
        for suffix in ["", ".pub", ".signing"] {
            XCTAssertEqual(rename(identityFile + suffix, path("away" + suffix)), 0)
        }
        let before = try head()
        let result = try cofOK(["set", "ci/token=1"])
        XCTAssertTrue(result.stderrText.contains("coffer: warning: this commit is unsigned: there is no identity at \(identityFile)"),
                      result.stderrText)
        XCTAssertEqual(result.stderrText.components(separatedBy: "warning:").count - 1, 1, result.stderrText)
        XCTAssertNotEqual(try head(), before)
        XCTAssertNotEqual(try git(["verify-commit", "HEAD"]).status, 0, "an unsigned commit passed")
        XCTAssertFalse(try gitOK(["cat-file", "commit", "HEAD"]).stdoutText.contains("gpgsig"))
    }

    private func reveal(_ id: String, passphraseFile: String) throws -> Data {
        try cofOK(["get", id, "--reveal", "--passphrase-file", passphraseFile]).stdout
    }
}
