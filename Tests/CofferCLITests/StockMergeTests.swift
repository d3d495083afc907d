import Foundation
import XCTest

/// Stock `git pull` (merging, never rebasing) between two clones of one vault
/// through a bare remote, both set up: coffer's merge driver settles sealed
/// and trust files both sides changed, and the post-merge hook's `coffer
/// reseal` re-seals what the merge left sealed for old readers.
final class StockMergeTests: VaultE2ECase {
    private var remote: String { path("remote.git") }
    /// The second clone (same user and identity as the first, `vaultDir`).
    private var other: String { path("other") }
    private var inOther: [String: String] { ["COFFER_VAULT": other] }

    /// prod/db and prod/other in the tester's vault, pushed and cloned into `other`, set up there.
    private func setUpClones() throws {
        _ = try requireTool("git")
        try initVault()
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(canary("db-base").utf8))
        try cofOK(["set", "prod/other", "--stdin"], stdin: Data(canary("other-base").utf8))
        try gitOK(["init", "-q", "--bare", remote], in: path(""))
        try gitOK(["remote", "add", "origin", remote])
        try gitOK(["push", "-q", "-u", "origin", "HEAD"])
        try gitOK(["clone", "-q", remote, other], in: path(""))
        try cofOK(["setup", "--signer", try fingerprint()], env: inOther, clean: false)
    }

    private func fingerprint() throws -> String {
        let json = try cofOK(["signers", "list", "-o", "json"], clean: false).stdout
        let signers = try XCTUnwrap((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["signers"] as? [[String: Any]])
        return try XCTUnwrap(signers.first?["fingerprint"] as? String)
    }

    private func push(from directory: String) throws { try gitOK(["push", "-q", "origin", "HEAD"], in: directory) }

    /// `git pull --no-rebase` into `directory`; `hooks: false` leaves the post-merge hook out.
    private func pull(into directory: String, hooks: Bool = true, env: [String: String] = [:]) throws -> CommandResult {
        let git = try requireTool("git")
        var arguments = ["-C", directory, "-c", "user.name=Tester", "-c", "user.email=t@example.com", "-c", "pull.rebase=false"]
        if !hooks { arguments += ["-c", "core.hooksPath=/dev/null"] }
        return try run(git, arguments + ["pull", "--no-edit", "origin", "HEAD"], environment: vaultEnvironment(env))
    }

    private func readers(of id: String, in vault: String) throws -> [String] {
        Array(binding(of: try Data(contentsOf: URL(fileURLWithPath: sealedPath(id, in: vault))))?.dropFirst() ?? [])
    }

    private func reveal(_ id: String, in vault: String) throws -> String {
        try cofOK(["get", id, "--reveal", "--vault", vault], clean: false).stdoutText
    }

    private func assertVerifies(_ vault: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try cof(["verify", "--vault", vault], clean: false, file: file, line: line)
        XCTAssertEqual(result.status, 0, "verify in \(vault): \(result.stdoutText)\(result.stderrText)", file: file, line: line)
    }

    private func assertNothingHeld(_ vault: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let status = try cofOK(["signers", "status", "-o", "json", "--vault", vault], clean: false, file: file, line: line).stdoutText
        XCTAssertTrue(status.contains("\"held\":[]"), "held back in \(vault): \(status)", file: file, line: line)
    }

    /// Every file under `root` (`.git` too) and the outputs: none holds any of `values`.
    private func assertNoValue(_ values: [String], under root: String, outputs: [CommandResult],
                               file: StaticString = #filePath, line: UInt = #line) {
        let files = snapshot(root).filter { !$0.key.hasPrefix(".git/objects/") }
        for value in values {
            for (name, bytes) in files { assertDoesNotContain(bytes, Data(value.utf8), name, file: file, line: line) }
            for output in outputs {
                assertDoesNotContain(output.stdout + output.stderr, Data(value.utf8), output.command, file: file, line: line)
            }
        }
    }

    /// Each side added a different reader to prod (re-wrapping both secrets):
    /// `.recipients` merges as the union, the sealed files by value, and the
    /// hook re-seals both secrets for all three readers; the merge is trusted.
    func testReadersAddedOnBothSidesMergeAsTheUnionAndAreResealed() throws {
        try setUpClones()
        let alice = try cofferKeygen("alice"), bob = try cofferKeygen("bob")
        let db = try reveal("prod/db", in: vaultDir)
        try cofOK(["recipients", "add", alice.recipient, "--name", "alice", "--scope", "prod"])
        try push(from: vaultDir)
        try cofOK(["recipients", "add", bob.recipient, "--name", "bob", "--scope", "prod"], env: inOther, clean: false)

        let pulled = try pull(into: other)
        XCTAssertEqual(pulled.status, 0, pulled.stderrText)
        let recipients = try String(contentsOfFile: other + "/prod/.recipients", encoding: .utf8)
        XCTAssertTrue(recipients.contains(alice.recipient) && recipients.contains(bob.recipient), recipients)
        XCTAssertFalse(recipients.contains("<<<<<<<"), recipients)
        let graph = try gitOK(["log", "--graph", "--oneline"], in: other).stdoutText
        XCTAssertTrue(graph.contains("Merge"), graph)
        XCTAssertTrue(try gitOK(["log", "-1", "--format=%s"], in: other).stdoutText.hasPrefix("coffer: reseal"), "no follow-up commit")
        for id in ["prod/db", "prod/other"] {
            XCTAssertEqual(try readers(of: id, in: other).count, 3, "\(id) is not sealed for the merged readers")
        }
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/db", in: other), identity: alice.identityFile).stdoutText, db)
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/db", in: other), identity: bob.identityFile).stdoutText, db)
        try assertVerifies(other)
        try assertNothingHeld(other)

        try push(from: other)
        XCTAssertEqual(try pull(into: vaultDir).status, 0)
        try assertVerifies(vaultDir)
        try assertNothingHeld(vaultDir)
        XCTAssertEqual(try head(), try head(in: other), "the first clone did not fast-forward to the merge")
    }

    /// One side changed the value, the other added a reader (re-wrap): the
    /// changed value wins, and `verify` reports the drift until `reseal`
    /// seals it for the merged readers.
    func testAChangedValueWinsOverARewrap() throws {
        try setUpClones()
        let alice = try cofferKeygen("alice")
        let value = canary("db-new")
        try cofOK(["recipients", "add", alice.recipient, "--name", "alice", "--scope", "prod"])
        try push(from: vaultDir)
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(value.utf8), env: inOther, clean: false)

        let pulled = try pull(into: other, hooks: false)
        XCTAssertEqual(pulled.status, 0, pulled.stderrText)
        XCTAssertEqual(try reveal("prod/db", in: other), value)
        let drift = try cof(["verify", "--vault", other, "-o", "json"], clean: false)
        XCTAssertEqual(drift.status, 1)
        XCTAssertTrue(drift.stdoutText.contains("\"kind\":\"wrong-readers\",\"id\":\"prod/db\""), drift.stdoutText)

        let resealed = try cofOK(["reseal", "--vault", other, "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(resealed.contains("\"resealed\":[\"prod/db\"]"), resealed)
        XCTAssertTrue(resealed.contains("\"exposed\":[]"), resealed)
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/db", in: other), identity: alice.identityFile).stdoutText, value)
        try assertVerifies(other)
        let again = try cofOK(["reseal", "--vault", other, "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(again.contains("\"commit\":null"), "a second reseal committed: \(again)")

        try push(from: other)
        XCTAssertEqual(try pull(into: vaultDir).status, 0)
        XCTAssertEqual(try reveal("prod/db", in: vaultDir), value)
        try assertVerifies(vaultDir)
    }

    /// One side changed the value, the other removed a reader (re-key): the
    /// changed value wins, is re-keyed without the reader, and is reported
    /// exposed (the other side sealed it for the removed reader).
    func testAChangedValueWinsOverARekeyAndIsReportedExposed() throws {
        try setUpClones()
        let bob = try cofferKeygen("bob")
        try cofOK(["recipients", "add", bob.recipient, "--name", "bob", "--scope", "prod"])
        try push(from: vaultDir)
        XCTAssertEqual(try pull(into: other).status, 0)
        try cofOK(["recipients", "rm", "bob", "--scope", "prod"])
        try push(from: vaultDir)
        let value = canary("db-new")
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(value.utf8), env: inOther, clean: false)

        let pulled = try pull(into: other, hooks: false)
        XCTAssertEqual(pulled.status, 0, pulled.stderrText)
        XCTAssertEqual(try reveal("prod/db", in: other), value)
        let resealed = try cofOK(["reseal", "--vault", other, "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(resealed.contains("\"rekeyed\":[\"prod/db\"]"), resealed)
        XCTAssertTrue(resealed.contains("\"exposed\":[\"prod/db\"]"), resealed)
        XCTAssertEqual(try readers(of: "prod/db", in: other).count, 1)
        XCTAssertNotEqual(try ageDecrypt(sealedPath("prod/db", in: other), identity: bob.identityFile).status, 0)
        XCTAssertEqual(try reveal("prod/db", in: other), value)
        try assertVerifies(other)
        try assertNothingHeld(other)
    }

    /// Both sides changed the value: git stops; the work tree holds ours'
    /// sealed bytes (no markers, no value anywhere), the index both sides.
    func testBothChangedStopsWithOursSealedBytes() throws {
        try setUpClones()
        let theirs = canary("db-theirs"), ours = canary("db-ours")
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(theirs.utf8))
        try push(from: vaultDir)
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(ours.utf8), env: inOther, clean: false)
        let oursBytes = try gitOK(["show", "HEAD:prod/db.age"], in: other).stdout
        let theirBytes = try gitOK(["show", "HEAD:prod/db.age"], in: vaultDir).stdout

        let pulled = try pull(into: other)
        XCTAssertNotEqual(pulled.status, 0, "the merge did not stop")
        XCTAssertTrue(pulled.stderrText.contains("coffer: conflict in prod/db.age: both sides changed the value; "
                                                 + "settle it with coffer resolve prod/db --ours|--theirs|--stdin"), pulled.stderrText)
        let working = try Data(contentsOf: URL(fileURLWithPath: sealedPath("prod/db", in: other)))
        XCTAssertEqual(working, oursBytes, "the work tree does not hold ours' sealed bytes")
        assertDoesNotContain(working, Data("<<<<<<<".utf8), "prod/db.age")
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/db", in: other)).stdoutText, ours, "not a valid age file")
        XCTAssertEqual(try gitOK(["show", ":2:prod/db.age"], in: other).stdout, oursBytes)
        XCTAssertEqual(try gitOK(["show", ":3:prod/db.age"], in: other).stdout, theirBytes)
        assertNoValue([ours, theirs], under: other, outputs: [pulled])

        // coffer takes git's unfinished merge over: conflicts lists the id,
        // resolve settles it and makes the merge commit, as after a sync.
        let listed = try cofOK(["conflicts", "-o", "json"], env: inOther, clean: false)
        XCTAssertTrue(listed.stdoutText.contains("\"id\":\"prod/db\""), listed.stdoutText)
        let resolved = try cofOK(["resolve", "prod/db", "--theirs"], env: inOther)
        XCTAssertEqual(try reveal("prod/db", in: other), theirs)
        XCTAssertFalse(FileManager.default.fileExists(atPath: other + "/.git/MERGE_HEAD"), "git's merge state is left")
        XCTAssertEqual(try gitOK(["log", "-1", "--format=%P"], in: other).stdoutText.split(separator: " ").count, 2, "no merge commit")
        XCTAssertEqual(try gitOK(["status", "--porcelain"], in: other).stdoutText, "")
        XCTAssertEqual(try cofOK(["conflicts", "-o", "json"], env: inOther, clean: false).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                       "{\"conflicts\":[]}")
        try assertVerifies(other)
        try push(from: other)
        assertNoValue([ours, theirs], under: other, outputs: [pulled, listed, resolved])
    }

    /// An identity with a passphrase cannot be asked for one by git's
    /// driver: values that must be compared make a clear conflict, no hang.
    func testAProtectedIdentityMakesAnUnreadableConflict() throws {
        try setUpClones()
        try cofOK(["rotate", "prod"])
        try push(from: vaultDir)
        try cofOK(["rotate", "prod"], env: inOther, clean: false)
        let pw = try write("pw", "correct horse\n")
        try succeedCoffer(["age", "encrypt", "-p", "--passphrase-file", pw, "-o", path("protected"), identityFile])
        chmod(path("protected"), 0o600)

        let pulled = try pull(into: other, env: ["COFFER_IDENTITY": path("protected")])
        XCTAssertNotEqual(pulled.status, 0)
        XCTAssertTrue(pulled.stderrText.contains("coffer: conflict in prod/db.age: no identity here opens both sides"), pulled.stderrText)
        XCTAssertTrue(pulled.stderrText.contains("passphrase"), pulled.stderrText)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: sealedPath("prod/db", in: other))),
                       try gitOK(["show", ":2:prod/db.age"], in: other).stdout)
    }

    /// A clone that never ran setup merges sealed files as the committed
    /// `.gitattributes` says: git's binary conflict, never conflict markers.
    func testACloneWithoutSetupGetsABinaryConflict() throws {
        try setUpClones()
        let plain = path("plain")
        try gitOK(["clone", "-q", remote, plain], in: path(""))
        let theirs = canary("db-theirs"), ours = canary("db-ours")
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(theirs.utf8))
        try push(from: vaultDir)
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(ours.utf8), env: ["COFFER_VAULT": plain], clean: false)
        let oursBytes = try gitOK(["show", "HEAD:prod/db.age"], in: plain).stdout

        let pulled = try pull(into: plain)
        XCTAssertNotEqual(pulled.status, 0)
        XCTAssertFalse(pulled.stderrText.contains("coffer: conflict"), "coffer's driver ran without setup: \(pulled.stderrText)")
        let working = try Data(contentsOf: URL(fileURLWithPath: sealedPath("prod/db", in: plain)))
        assertDoesNotContain(working, Data("<<<<<<<".utf8), "prod/db.age")
        XCTAssertEqual(working, oursBytes)
        assertNoValue([ours, theirs], under: plain, outputs: [pulled])
    }

    /// A reader added by an unsigned stock-git commit is not sealed for by
    /// the hook: refused with the existing error, and `verify` still reports it.
    func testTheHookRefusesAReaderThisCloneHasNotAccepted() throws {
        try setUpClones()
        let mallory = try cofferKeygen("mallory")
        try cofOK(["recipients", "add", try cofferKeygen("alice").recipient, "--name", "alice", "--scope", "prod"])
        let file = vaultDir + "/prod/.recipients"
        try (try String(contentsOfFile: file, encoding: .utf8) + "\(mallory.recipient) # mallory\n").write(toFile: file, atomically: false, encoding: .utf8)
        try gitOK(["-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-q", "-am", "add mallory"])
        try push(from: vaultDir)
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(canary("db-new").utf8), env: inOther, clean: false)
        let before = try head(in: other)

        let pulled = try pull(into: other)
        XCTAssertEqual(pulled.status, 0, pulled.stderrText)
        XCTAssertTrue(pulled.stderrText.contains("coffer: error:") && pulled.stderrText.contains("mallory"), pulled.stderrText)
        XCTAssertTrue(try gitOK(["log", "-1", "--format=%P"], in: other).stdoutText.contains(before), "the hook committed")
        XCTAssertEqual(try readers(of: "prod/db", in: other).count, 1, "prod/db was re-sealed")
        XCTAssertEqual(try cof(["verify", "--vault", other], clean: false).status, 1)
    }

    /// setup keeps a post-merge hook the user wrote, and says so; the
    /// attributes it writes keep the user's lines and are written once.
    func testSetupKeepsTheUsersHookAndAttributes() throws {
        try setUpClones()
        let hook = other + "/.git/hooks/post-merge"
        try "#!/bin/sh\necho mine\n".write(toFile: hook, atomically: false, encoding: .utf8)
        let attributes = other + "/.git/info/attributes"
        try ("*.txt diff\n" + (try String(contentsOfFile: attributes, encoding: .utf8))).write(toFile: attributes, atomically: false, encoding: .utf8)
        let setup = try cofOK(["setup", "--vault", other], clean: false)
        XCTAssertTrue(setup.stderrText.contains("post-merge is a hook of yours, left as it is"), setup.stderrText)
        XCTAssertEqual(try String(contentsOfFile: hook, encoding: .utf8), "#!/bin/sh\necho mine\n")
        let text = try String(contentsOfFile: attributes, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("*.txt diff\n"), text)
        XCTAssertEqual(text.components(separatedBy: "*.age merge=coffer").count, 2, text)
        try assertVerifies(other)
    }
}
