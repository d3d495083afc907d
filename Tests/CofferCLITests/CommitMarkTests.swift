import Foundation
import XCTest

/// `history`, `log` and `diff` show who signed each commit (issue 12,
/// "Showing it"): `verified NAME`, `unsigned`, `unknown SHA256:…` or `bad`,
/// and a commit's `Coffer-Action` counts only when its signature verifies,
/// so a commit made by hand with coffer's trailers shows as `git`.
final class CommitMarkTests: VaultE2ECase {
    /// The trailers of a coffer `set` of x, which anyone can type.
    private let claimingSet = "coffer: set x\n\nCoffer-Action: set\nCoffer-Id: x\n"

    /// A vault (signer alice) where x has two versions set by coffer, then a
    /// third: y's sealed bytes copied over x.age and committed with stock git
    /// (signed with `signingKey` when given), claiming to be coffer's `set`.
    private func vaultWithHandMadeSet(signingKey: String? = nil) throws {
        try initVault(name: "alice")
        try cofOK(["set", "x=1", "y=2"])
        try cofOK(["set", "x=3"])
        try FileManager.default.removeItem(atPath: sealedPath("x"))
        try FileManager.default.copyItem(atPath: sealedPath("y"), toPath: sealedPath("x"))
        try commitByHand(claimingSet, signingKey: signingKey)
    }

    /// `git commit -a` as a person would, with an SSH signature when `signingKey` (a private key file) is given.
    private func commitByHand(_ message: String, signingKey: String? = nil) throws {
        let signing = signingKey.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0)"] } ?? []
        try gitOK(["-c", "user.name=hand", "-c", "user.email=hand@example.org"] + signing
                  + ["commit", "-q", "-a"] + (signingKey == nil ? [] : ["-S"]) + ["-m", message])
    }

    /// A new ed25519 key made by stock ssh-keygen: its private key file, public line and fingerprint.
    private func sshKey(_ name: String) throws -> (file: String, line: String, fingerprint: String) {
        let keygen = try requireTool("ssh-keygen")
        let file = path(name)
        try succeed(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file])
        let shown = try succeed(keygen, ["-l", "-f", file + ".pub"]).stdoutText.split(separator: " ")
        let line = try String(contentsOfFile: file + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, line, shown.count > 1 ? String(shown[1]) : "<no fingerprint in \(shown)>")
    }

    private func table(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TableText {
        let result = try cofOK(arguments, file: file, line: line)
        return try XCTUnwrap(TableText(result.stdoutText), "not a table:\n\(result.stdoutText)", file: file, line: line)
    }

    private func json(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try cofOK(arguments + ["-o", "json"], file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], result.stdoutText, file: file, line: line)
    }

    /// The records of `key` in a JSON document.
    private func records(_ document: [String: Any], _ key: String) -> [[String: Any]] {
        document[key] as? [[String: Any]] ?? []
    }

    private func signature(_ record: [String: Any]?) -> [String: String] {
        record?["signature"] as? [String: String] ?? [:]
    }

    /// The one fingerprint `signers list` shows for `name`.
    private func signerFingerprint(_ name: String) throws -> String {
        let signers = records(try json(["signers", "list"]), "signers")
        return signers.first { $0["name"] as? String == name }?["fingerprint"] as? String ?? "<no signer \(name)>"
    }

    func testCoffersOwnCommitsAreVerifiedWithTheSignersName() throws {
        try initVault(name: "alice")
        try cofOK(["set", "x=1"])
        try cofOK(["set", "x=2", "y=3"])
        let alice = try signerFingerprint("alice")
        XCTAssertTrue(alice.hasPrefix("SHA256:"), alice)

        let history = try cofOK(["history", "x"])
        XCTAssertEqual(history.stderrText, "", "a pinned clone has nothing to warn about")
        let rows = try XCTUnwrap(TableText(history.stdoutText))
        XCTAssertEqual(rows.column("SIGNED"), ["verified alice", "verified alice"], history.stdoutText)
        XCTAssertEqual(rows.column("ACTION"), ["set", "set"])
        XCTAssertEqual(rows.column("CHANGE"), ["value", "created"])
        for version in records(try json(["history", "x"]), "versions") {
            XCTAssertEqual(signature(version), ["mark": "verified", "signer": "alice", "fingerprint": alice], "\(version)")
            XCTAssertNil(version["claimed_action"], "no claim differs from what is shown: \(version)")
        }

        let log = try table(["log"])
        XCTAssertEqual(log.column("SIGNED"), ["verified alice", "verified alice", "verified alice"])
        XCTAssertEqual(log.column("ACTION"), ["set", "set", "init"])
        let changes = records(try json(["log"]), "changes")
        XCTAssertEqual(changes.map(signature), Array(repeating: ["mark": "verified", "signer": "alice", "fingerprint": alice], count: 3))

        let diff = try table(["diff", "HEAD~1", "HEAD"])
        XCTAssertEqual(diff.column("ID"), ["x", "y"])
        XCTAssertEqual(diff.column("SIGNED"), ["verified alice", "verified alice"])
        XCTAssertEqual(diff.column("ACTION"), ["set", "set"])
    }

    /// Stock git, by hand, with coffer's trailers: unsigned, shown as `git`
    /// in all three commands; the claim only in json, as `claimed_action`.
    func testAHandMadeCommitWithCoffersTrailersShowsAsGit() throws {
        try vaultWithHandMadeSet()
        let hand = try head()

        let history = try cofOK(["history", "x"])
        XCTAssertEqual(history.stderrText, "")
        let rows = try XCTUnwrap(TableText(history.stdoutText)).rows
        XCTAssertEqual(rows.map { $0["SIGNED"] }, ["unsigned", "verified alice", "verified alice"], history.stdoutText)
        XCTAssertEqual(rows.map { $0["ACTION"] }, ["git", "set", "set"])
        XCTAssertEqual(rows.first?["CHANGE"], "value")
        let versions = records(try json(["history", "x"]), "versions")
        XCTAssertEqual(versions.first?["commit"] as? String, hand)
        XCTAssertEqual(signature(versions.first), ["mark": "unsigned"], "no signer or fingerprint to show")
        XCTAssertEqual(versions.first?["action"] as? String, "git")
        XCTAssertEqual(versions.first?["claimed_action"] as? String, "set")
        XCTAssertEqual(versions.map { $0["claimed_action"] != nil }, [true, false, false])

        let log = try table(["log", "-n", "2"])
        XCTAssertEqual(log.column("SIGNED"), ["unsigned", "verified alice"])
        XCTAssertEqual(log.column("ACTION"), ["git", "set"])
        XCTAssertEqual(log.column("IDS"), ["x", "x"])
        let changes = records(try json(["log", "-n", "1"]), "changes")
        XCTAssertEqual(changes.first?["action"] as? String, "git")
        XCTAssertEqual(changes.first?["claimed_action"] as? String, "set")
        XCTAssertEqual(signature(changes.first), ["mark": "unsigned"])

        let diff = try table(["diff", "HEAD~2", "HEAD"])
        XCTAssertEqual(diff.column("ID"), ["x"])
        XCTAssertEqual(diff.column("COMMIT"), [String(hand.prefix(8))])
        XCTAssertEqual(diff.column("SIGNED"), ["unsigned"])
        XCTAssertEqual(diff.column("ACTION"), ["git"])
        let differences = records(try json(["diff", "HEAD~2", "HEAD"]), "differences")
        XCTAssertEqual(differences.first?["commit"] as? String, hand)
        XCTAssertEqual(differences.first?["action"] as? String, "git")
        XCTAssertEqual(differences.first?["claimed_action"] as? String, "set")
    }

    /// Signed with a key `.signers` does not name: `unknown` and its fingerprint.
    func testACommitSignedByAKeyNotInSignersIsUnknown() throws {
        let mallory = try sshKey("mallory")
        try vaultWithHandMadeSet(signingKey: mallory.file)
        XCTAssertTrue(try gitOK(["cat-file", "commit", "HEAD"]).stdoutText.contains("\ngpgsig "), "git did not sign")

        let rows = try table(["history", "x"]).rows
        XCTAssertEqual(rows.first?["SIGNED"], "unknown " + mallory.fingerprint)
        XCTAssertEqual(rows.first?["ACTION"], "git")
        let version = records(try json(["history", "x"]), "versions").first
        XCTAssertEqual(signature(version), ["mark": "unknown", "fingerprint": mallory.fingerprint])
        XCTAssertEqual(version?["claimed_action"] as? String, "set")
        XCTAssertEqual(try table(["log", "-n", "1"]).column("SIGNED"), ["unknown " + mallory.fingerprint])
        XCTAssertEqual(try table(["diff", "HEAD~1", "HEAD"]).column("SIGNED"), ["unknown " + mallory.fingerprint])
    }

    /// A signature that does not match its commit (one of coffer's copied
    /// into a commit made by hand): `bad`, whoever's key it names.
    func testACopiedSignatureIsBad() throws {
        try vaultWithHandMadeSet()
        let unsigned = try gitOK(["cat-file", "commit", "HEAD"]).stdoutText
        let signed = try gitOK(["cat-file", "commit", "HEAD~1"]).stdoutText
        var signature: [Substring] = []
        for line in signed.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("gpgsig ") || (!signature.isEmpty && line.hasPrefix(" ")) {
                signature.append(line)
            } else if !signature.isEmpty {
                break
            }
        }
        XCTAssertFalse(signature.isEmpty, "coffer's commit carries no gpgsig:\n\(signed)")
        var forged: [Substring] = []
        for line in unsigned.split(separator: "\n", omittingEmptySubsequences: false) {
            forged.append(line)
            if line.hasPrefix("committer ") { forged += signature }
        }
        let object = try write("forged", forged.joined(separator: "\n"))
        let id = try gitOK(["hash-object", "-t", "commit", "-w", object]).stdoutText.trimmingCharacters(in: .newlines)
        try gitOK(["update-ref", "HEAD", id])
        XCTAssertNotEqual(try git(["verify-commit", "HEAD"]).status, 0, "stock git accepts the forged commit")

        let rows = try table(["history", "x"]).rows
        XCTAssertEqual(rows.first?["COMMIT"], String(id.prefix(8)))
        XCTAssertEqual(rows.first?["SIGNED"], "bad")
        XCTAssertEqual(rows.first?["ACTION"], "git")
        XCTAssertEqual(self.signature(records(try json(["log", "-n", "1"]), "changes").first), ["mark": "bad"])
        XCTAssertEqual(try table(["diff", "HEAD~1", "HEAD"]).column("SIGNED"), ["bad"])
    }

    /// A clone that pinned no signers cannot verify anything: coffer's own
    /// commits are `unknown` and show as `git`, and each command says why, once.
    func testAnUnpinnedCloneSaysSignaturesCannotBeVerified() throws {
        try initVault(name: "alice")
        try cofOK(["set", "x=1"])
        try cofOK(["set", "x=2"])
        let alice = try signerFingerprint("alice")
        let clone = path("clone")
        try gitOK(["clone", "-q", vaultDir, clone], in: path(""))
        for arguments in [["history", "x"], ["log"], ["diff", "HEAD~1", "HEAD"]] {
            let result = try cofOK(arguments + ["--vault", clone])
            let warnings = result.stderrText.split(separator: "\n").filter { $0.hasPrefix("coffer: warning: ") }
            XCTAssertEqual(warnings, ["coffer: warning: commit signatures cannot be verified until this clone pins the vault's signers "
                                      + "(check them, then `coffer signers pin`); until then every commit shows as `git`"],
                           "\(arguments): \(result.stderrText)")
            let rows = try XCTUnwrap(TableText(result.stdoutText), result.stdoutText)
            XCTAssertFalse(rows.cells.isEmpty, "\(arguments)")
            XCTAssertEqual(Set(rows.column("SIGNED")), ["unknown " + alice], "\(arguments): \(result.stdoutText)")
            XCTAssertEqual(Set(rows.column("ACTION")), ["git"], "\(arguments): \(result.stdoutText)")
        }
        let versions = records(try json(["history", "x", "--vault", clone]), "versions")
        XCTAssertEqual(versions.map { $0["claimed_action"] as? String }, ["set", "set"])
        XCTAssertEqual(try cofOK(["log", "--vault", clone, "-o", "json"]).stderrText.components(separatedBy: "coffer signers pin").count, 2,
                       "the warning also with -o json, once")

        // Pinned, the same commits verify and show their actions, with nothing to warn about.
        try cofOK(["signers", "pin", "--yes", "--vault", clone])
        let pinned = try cofOK(["history", "x", "--vault", clone])
        XCTAssertEqual(pinned.stderrText, "")
        let rows = try XCTUnwrap(TableText(pinned.stdoutText), pinned.stdoutText)
        XCTAssertEqual(rows.column("SIGNED"), ["verified alice", "verified alice"])
        XCTAssertEqual(rows.column("ACTION"), ["set", "set"])
    }

    /// Signing turned off by a trusted signer: nothing is verifiable, the
    /// claimed action is what there is to show, and each command says so.
    func testWithSigningOffTheClaimIsShownAndTheHistoryCalledUnverified() throws {
        let bob = try sshKey("bob")
        try initVault(name: "alice")
        try cofOK(["signers", "add", bob.line, "--name", "bob"])
        try cofOK(["set", "x=1", "y=2"])
        // Bob, trusted, turns signing off with stock git.
        try "signing = off\n".write(toFile: vaultDir + "/.coffer-config", atomically: false, encoding: .utf8)
        try gitOK(["add", ".coffer-config"])
        try commitByHand("signing off by hand", signingKey: bob.file)
        try FileManager.default.removeItem(atPath: sealedPath("x"))
        try FileManager.default.copyItem(atPath: sealedPath("y"), toPath: sealedPath("x"))
        try commitByHand(claimingSet)

        let result = try cofOK(["log", "-n", "3"])
        XCTAssertEqual(result.stderrText, "coffer: warning: the vault's history is unverified: its signing is off, so any commit may "
                       + "claim to be coffer's (`coffer config signing on` turns it back on)\n")
        let rows = try XCTUnwrap(TableText(result.stdoutText)).rows
        XCTAssertEqual(rows.map { $0["SIGNED"] }, ["unsigned", "verified bob", "verified alice"], result.stdoutText)
        XCTAssertEqual(rows.map { $0["ACTION"] }, ["set", "git", "set"], "the claim shown, though unsigned")
        XCTAssertNil(records(try json(["log", "-n", "1"]), "changes").first?["claimed_action"], "nothing differs to show")
        XCTAssertEqual(try table(["history", "x"]).column("ACTION"), ["set", "set"])
    }
}
