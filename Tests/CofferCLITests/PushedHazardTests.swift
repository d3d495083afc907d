import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What someone with push access (or a stray `mkfifo`) can put where a
/// sealed file or a scope directory belongs: a gitlink, a directory, a
/// symlink (to the user's identity, to /etc/passwd), a symlinked scope
/// directory, a file where a scope directory goes, a FIFO. Each is pushed
/// from a second clone and pulled with stock git. Writing there is refused
/// before the commit point, reading there never follows a link or prints
/// where it leads, everything else keeps working, and nothing hangs.
final class PushedHazardTests: VaultE2ECase {
    private var remote: String { path("remote.git") }
    private var other: String { path("other") }
    /// The value of every secret, as set.
    private var values: [String: String] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        _ = try initVault()
        values = ["prod/db": canary("db"), "prod/keep": canary("keep"), "dev/app": canary("app")]
        try cofOK(["set"] + values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        let branch = try gitOK(["branch", "--show-current"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try gitOK(["init", "-q", "--bare", remote], in: dir.path)
        try gitOK(["symbolic-ref", "HEAD", "refs/heads/\(branch)"], in: remote)
        try gitOK(["remote", "add", "origin", remote])
        try gitOK(["push", "-q", "-u", "origin", branch])
        try gitOK(["clone", "-q", remote, other], in: dir.path)
    }

    // MARK: helpers

    /// `coffer ARGS…` in a new session, killed if it runs past 20 s (which fails the test).
    private func bounded(_ arguments: [String], stdin: Data? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let limit = try requireTool("timeout", file: file, line: line)
        let session = try requireTool("setsid", file: file, line: line)
        let started = Date()
        let result = try run(session, ["-w", limit, "-k", "5", "20", coffer] + arguments, stdin: stdin,
                             environment: vaultEnvironment(), timeout: 60, file: file, line: line)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertLessThan(seconds, 19, "hung: coffer \(arguments.joined(separator: " ")) (status \(result.status))", file: file, line: line)
        return result
    }

    /// Runs `script` with sh in `directory`.
    private func shell(_ script: String, in directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run("/bin/sh", ["-ec", "cd \"$0\"; " + script, directory], environment: vaultEnvironment(),
                             file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(script): \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(script) failed: \(result.stderrText)") }
    }

    /// In the other clone: `script` stages a change, which is committed and
    /// pushed; the vault then pulls it with stock git.
    private func pushFromOtherClone(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try shell(script, in: other, file: file, line: line)
        try gitOK(["-c", "user.name=mallory", "-c", "user.email=mallory@example.com", "commit", "-qm", "hazard"],
                  in: other, file: file, line: line)
        try gitOK(["push", "-q", "origin", "HEAD"], in: other, file: file, line: line)
        try gitOK(["pull", "-q", "--ff-only"], file: file, line: line)
    }

    /// Fails if stdout or stderr of `result` holds any of `forbidden`.
    private func assertShowsNone(_ forbidden: [String], _ result: CommandResult,
                                 file: StaticString = #filePath, line: UInt = #line) {
        for text in forbidden where !text.isEmpty {
            XCTAssertFalse(result.stdoutText.contains(text), "stdout of \(result.command) shows \(text)", file: file, line: line)
            XCTAssertFalse(result.stderrText.contains(text), "stderr of \(result.command) shows \(text)", file: file, line: line)
        }
    }

    /// The checks every hazard must pass. `id` stands on the hazard, which
    /// `set` must name as `shown`; `others` are ids beside it that still
    /// work; `forbidden` (link targets, their contents, values) must appear
    /// in no output.
    private func assertContained(_ id: String, shown: String, others: [String], forbidden: [String],
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try head(file: file, line: line)
        let forbidden = forbidden + [values[id]].compactMap { $0 }
        var results: [CommandResult] = []

        let newValue = canary("new")
        let set = try bounded(["set", id, "--stdin"], stdin: Data(newValue.utf8), file: file, line: line)
        results.append(set)
        XCTAssertEqual(set.status, 1, "set \(id): \(set.stderrText)", file: file, line: line)
        XCTAssertTrue(set.stderrText.hasPrefix("coffer: error: \(shown) in the vault "), set.stderrText, file: file, line: line)
        XCTAssertEqual(try head(file: file, line: line), before, "a refused set must not commit", file: file, line: line)
        XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"), "no journal after a refusal", file: file, line: line)
        assertShowsNone([newValue], set, file: file, line: line)

        for arguments in [["get", id, "--reveal"], ["get", id], ["get", id, "-o", "json", "--reveal"]] {
            let get = try bounded(arguments, file: file, line: line)
            results.append(get)
            XCTAssertEqual(get.status, 1, "\(get.command): \(get.stderrText)", file: file, line: line)
            XCTAssertTrue(get.stderrText.hasPrefix("coffer: error: "), get.stderrText, file: file, line: line)
        }

        for other in others {
            let get = try bounded(["get", other, "--reveal"], file: file, line: line)
            results.append(get)
            XCTAssertEqual(get.status, 0, "get \(other): \(get.stderrText)", file: file, line: line)
            XCTAssertEqual(get.stdoutText, values[other], "get \(other)", file: file, line: line)
        }
        let list = try bounded(["list"], file: file, line: line)
        results.append(list)
        XCTAssertEqual(list.status, 0, list.stderrText, file: file, line: line)
        let listed = Set(list.stdoutText.split(separator: "\n").map(String.init))
        XCTAssertTrue(listed.isSuperset(of: others), "list: \(list.stdoutText)", file: file, line: line)
        XCTAssertFalse(listed.contains(id), "list shows \(id) on the hazard: \(list.stdoutText)", file: file, line: line)

        // The whole vault may report drift (a FIFO where a committed file
        // is), but finishes; a prefix without the hazard is clean.
        let verifyAll = try bounded(["verify"], file: file, line: line)
        results.append(verifyAll)
        XCTAssertTrue([0, 1].contains(verifyAll.status), verifyAll.stderrText, file: file, line: line)
        let verifyDev = try bounded(["verify", "dev"], file: file, line: line)
        results.append(verifyDev)
        XCTAssertEqual(verifyDev.status, 0, "verify dev: \(verifyDev.stdoutText) \(verifyDev.stderrText)", file: file, line: line)

        // Writing elsewhere still works, and is one commit.
        let write = try bounded(["set", "dev/later", "--stdin"], stdin: Data("later".utf8), file: file, line: line)
        results.append(write)
        XCTAssertEqual(write.status, 0, write.stderrText, file: file, line: line)
        XCTAssertEqual(try gitOK(["rev-parse", "HEAD^"], file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines), before, file: file, line: line)

        for result in results { assertShowsNone(forbidden, result, file: file, line: line) }
    }

    /// The identity's secret key line: the content a link to it must never show.
    private func identitySecret() throws -> String {
        let text = try String(contentsOfFile: identityFile, encoding: .utf8)
        return try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init))
    }

    // MARK: at <id>.age

    func testAPushedGitlinkAtASecretsPathIsContained() throws {
        try pushFromOtherClone("git rm -q prod/db.age; git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),prod/db.age")
        XCTAssertEqual(try gitOK(["ls-tree", "HEAD", "prod/db.age"]).stdoutText.prefix(6), "160000")
        try assertContained("prod/db", shown: "prod/db.age", others: ["prod/keep", "dev/app"], forbidden: [])
    }

    func testAPushedDirectoryAtASecretsPathIsContained() throws {
        try pushFromOtherClone("git rm -q prod/db.age; mkdir prod/db.age; echo x > prod/db.age/x; git add prod/db.age/x")
        try assertContained("prod/db", shown: "prod/db.age", others: ["prod/keep", "dev/app"], forbidden: [])
        XCTAssertEqual(try String(contentsOfFile: vaultDir + "/prod/db.age/x", encoding: .utf8), "x\n", "left as it was")
    }

    func testAPushedSymlinkToTheIdentityIsNeitherFollowedNorShown() throws {
        let secret = try identitySecret()
        let before = try Data(contentsOf: URL(fileURLWithPath: identityFile))
        try pushFromOtherClone("git rm -q prod/db.age; ln -s \"$1\" prod/db.age; git add prod/db.age".replacingOccurrences(
            of: "$1", with: identityFile))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: vaultDir + "/prod/db.age"), identityFile)
        try assertContained("prod/db", shown: "prod/db.age", others: ["prod/keep", "dev/app"],
                            forbidden: [identityFile, secret, String(secret.dropFirst("AGE-SECRET-KEY-1".count))])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: identityFile)), before, "the identity is untouched")
    }

    func testAPushedSymlinkToEtcPasswdIsNeitherFollowedNorShown() throws {
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
        let firstLine = try XCTUnwrap(passwd.split(separator: "\n").first.map(String.init))
        try pushFromOtherClone("git rm -q prod/db.age; ln -s /etc/passwd prod/db.age; git add prod/db.age")
        try assertContained("prod/db", shown: "prod/db.age", others: ["prod/keep", "dev/app"],
                            forbidden: ["/etc/passwd", firstLine])
    }

    // MARK: at a scope directory

    func testAPushedSymlinkedScopeDirectoryIsNeitherFollowedNorWrittenThrough() throws {
        // Outside the vault, a copy of prod as it was: following the link would reveal db's value.
        let elsewhere = path("elsewhere")
        try FileManager.default.copyItem(atPath: vaultDir + "/prod", toPath: elsewhere)
        let before = snapshot(elsewhere)
        try pushFromOtherClone("git rm -rq prod; ln -s \"\(elsewhere)\" prod; git add prod")
        try assertContained("prod/db", shown: "prod", others: ["dev/app"], forbidden: [elsewhere])
        assertSameSnapshot(before, snapshot(elsewhere), "writing through prod -> \(elsewhere)")
    }

    func testAPushedScopeLinkUpTheTreeIsNeitherFollowedNorWrittenThrough() throws {
        try pushFromOtherClone("git rm -rq prod; ln -s ../.. prod; git add prod")
        // prod/… is now the directory that holds the vault: the test's own files.
        let outside = { self.snapshot(self.dir.path).filter { !$0.key.hasPrefix("vault/") && !$0.key.hasPrefix(".io/") } }
        let before = outside()
        try assertContained("prod/db", shown: "prod", others: ["dev/app"], forbidden: ["../..", identityFile])
        assertSameSnapshot(before, outside(), "writing through prod -> ../..")
    }

    func testAPushedFileInPlaceOfAScopeDirectoryIsContained() throws {
        try pushFromOtherClone("git rm -rq prod; echo 'not a directory' > prod; git add prod")
        try assertContained("prod/db", shown: "prod", others: ["dev/app"], forbidden: [])
        XCTAssertEqual(try String(contentsOfFile: vaultDir + "/prod", encoding: .utf8), "not a directory\n", "left as it was")
    }

    // MARK: made locally

    func testALocalFIFOAtASecretsPathNeverBlocks() throws {
        XCTAssertEqual(unlink(sealedPath("prod/db")), 0)
        XCTAssertEqual(mkfifo(sealedPath("prod/db"), 0o644), 0)
        try assertContained("prod/db", shown: "prod/db.age", others: ["prod/keep", "dev/app"], forbidden: [])
        var info = stat()
        XCTAssertEqual(lstat(sealedPath("prod/db"), &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO is left as it was")
    }

    func testALocalFIFOAsAScopesRecipientsNeverBlocks() throws {
        XCTAssertEqual(mkfifo(vaultDir + "/prod/.recipients", 0o644), 0)
        let before = try head()
        let set = try bounded(["set", "prod/db", "--stdin"], stdin: Data("v".utf8))
        XCTAssertEqual(set.status, 1, set.stderrText)
        XCTAssertTrue(set.stderrText.hasPrefix("coffer: error: prod/.recipients in the vault is not a regular file"), set.stderrText)
        XCTAssertEqual(try head(), before)
        let verify = try bounded(["verify"])
        XCTAssertEqual(verify.status, 1, "a FIFO where a .recipients goes is drift: \(verify.stdoutText)")
        XCTAssertTrue(verify.stdoutText.contains("prod"), verify.stdoutText)
        XCTAssertEqual(try bounded(["verify", "dev"]).status, 0)
        XCTAssertEqual(try bounded(["get", "dev/app", "--reveal"]).stdoutText, values["dev/app"])
        XCTAssertEqual(try bounded(["list"]).status, 0)
    }

    // MARK: met by crash recovery

    /// A write of prod/db and dev/app killed after its commit point: HEAD is
    /// the new commit, the journal names both files, and the work tree still
    /// has dev/app's old file. Then `hazard` takes prod/db's place.
    private func interruptedWrite(then hazard: () throws -> Void) throws -> (old: Data, new: String) {
        let oldApp = try sealed("dev/app")
        let newApp = canary("app2")
        try cofOK(["set", "prod/db=\(canary("db2"))", "dev/app=\(newApp)"])
        var journal = "old \(try gitOK(["rev-parse", "HEAD^"]).stdoutText)new \(try head())\n"
        for path in ["dev/app.age", "prod/db.age"] {
            journal += "write \(try gitOK(["rev-parse", "HEAD:\(path)"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) \(path)\n"
        }
        try Data(journal.utf8).write(to: URL(fileURLWithPath: vaultDir + "/.git/coffer-journal"))
        try oldApp.write(to: URL(fileURLWithPath: sealedPath("dev/app")))
        try hazard()
        return (oldApp, newApp)
    }

    /// Recovery finishes the rest of the journal, leaves the hazard where it
    /// is, and names it; other commands are not blocked by it.
    private func assertRecoveryLeaves(_ shown: String, forbidden: [String] = [], stillThere: () -> Bool,
                                      hazard: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let (_, newApp) = try interruptedWrite(then: hazard)
        let head = try self.head(file: file, line: line)
        let get = try bounded(["get", "dev/app", "--reveal"], file: file, line: line)
        XCTAssertEqual(get.status, 0, get.stderrText, file: file, line: line)
        XCTAssertEqual(get.stdoutText, newApp, "recovery completed the rest of the write", file: file, line: line)
        XCTAssertTrue(get.stderrText.contains("coffer: warning: finishing an interrupted write, coffer left \(shown) as it is: it is "),
                      get.stderrText, file: file, line: line)
        XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"), "the journal is done with", file: file, line: line)
        XCTAssertTrue(stillThere(), "recovery left \(shown) as it was", file: file, line: line)
        XCTAssertEqual(try self.head(file: file, line: line), head, file: file, line: line)

        var results = [get]
        let list = try bounded(["list"], file: file, line: line)
        XCTAssertEqual(list.status, 0, list.stderrText, file: file, line: line)
        XCTAssertTrue(list.stdoutText.contains("dev/app\n"), list.stdoutText, file: file, line: line)
        let verify = try bounded(["verify", "dev"], file: file, line: line)
        XCTAssertEqual(verify.status, 0, verify.stderrText, file: file, line: line)
        let set = try bounded(["set", "dev/later", "--stdin"], stdin: Data("later".utf8), file: file, line: line)
        XCTAssertEqual(set.status, 0, set.stderrText, file: file, line: line)
        results += [list, verify, set]
        for result in results { assertShowsNone(forbidden, result, file: file, line: line) }
    }

    private func kind(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }

    func testRecoveryLeavesADirectoryAtASecretsPathAndSaysSo() throws {
        let target = sealedPath("prod/db")
        try assertRecoveryLeaves("prod/db.age", stillThere: { self.fileExists(target + "/x") }) {
            XCTAssertEqual(unlink(target), 0)
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            try Data("x".utf8).write(to: URL(fileURLWithPath: target + "/x"))
        }
    }

    func testRecoveryLeavesAFIFOAtASecretsPathAndSaysSo() throws {
        let target = sealedPath("prod/db")
        try assertRecoveryLeaves("prod/db.age", stillThere: { self.kind(target) == S_IFIFO }) {
            XCTAssertEqual(unlink(target), 0)
            XCTAssertEqual(mkfifo(target, 0o644), 0)
        }
    }

    func testRecoveryLeavesASymlinkAtASecretsPathAndSaysSo() throws {
        let target = sealedPath("prod/db")
        let secret = try identitySecret()
        let before = try Data(contentsOf: URL(fileURLWithPath: identityFile))
        try assertRecoveryLeaves("prod/db.age", forbidden: [identityFile, secret],
                                 stillThere: { (try? FileManager.default.destinationOfSymbolicLink(atPath: target)) == self.identityFile }) {
            XCTAssertEqual(unlink(target), 0)
            XCTAssertEqual(symlink(identityFile, target), 0)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: identityFile)), before, "the identity is untouched")
    }

    func testRecoveryLeavesAFileInPlaceOfAScopeDirectoryAndSaysSo() throws {
        let scope = vaultDir + "/prod"
        try assertRecoveryLeaves("prod", stillThere: { self.kind(scope) == S_IFREG }) {
            try FileManager.default.removeItem(atPath: scope)
            try Data("not a directory\n".utf8).write(to: URL(fileURLWithPath: scope))
        }
    }

    func testRecoveryLeavesASymlinkedScopeDirectoryAndSaysSo() throws {
        let scope = vaultDir + "/prod", elsewhere = path("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        try assertRecoveryLeaves("prod", forbidden: [elsewhere], stillThere: { self.kind(scope) == S_IFLNK }) {
            try FileManager.default.removeItem(atPath: scope)
            XCTAssertEqual(symlink(elsewhere, scope), 0)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere), [], "nothing written through the link")
    }
}
