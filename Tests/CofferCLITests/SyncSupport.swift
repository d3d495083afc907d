import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Two people syncing one vault through a bare remote with `coffer sync`:
/// alice (the test's own HOME, `<tmp>/vault`) and bob (his own HOME and
/// identity, `<tmp>/bob`, a `coffer clone` of the remote). Both read the
/// root scope and both are trusted signers in both clones.
///
/// Every value a test seals goes through `value(_:)`; at tear-down no
/// coffer or git command's output (a reveal's stdout aside) and no commit
/// message of either clone or the remote may contain one.
class SyncTestCase: VaultE2ECase {
    var remote: String { path("remote.git") }
    var aliceDir: String { vaultDir }
    var bobDir: String { path("bob") }
    var bobHome: String { path("bobhome") }
    var bobEnv: [String: String] {
        ["HOME": bobHome, "XDG_CONFIG_HOME": bobHome + "/.config", "COFFER_VAULT": bobDir, "USER": "bob", "LOGNAME": "bob"]
    }
    private(set) var aliceFingerprint = ""
    private(set) var bobFingerprint = ""
    /// Every value sealed in this test.
    private(set) var values: [String] = []
    /// Every git command run through `git(_:in:)`.
    private(set) var gitResults: [CommandResult] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        values = []
        gitResults = []
    }

    override func tearDownWithError() throws {
        if fileExists(remote) { try assertNothingLeaked() }
        try super.tearDownWithError()
    }

    override func git(_ arguments: [String], in directory: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try super.git(arguments, in: directory, file: file, line: line)
        gitResults.append(result)
        return result
    }

    /// A fresh value to seal, remembered for the leak checks.
    func value(_ tag: String) -> String {
        let made = canary(tag)
        values.append(made)
        return made
    }

    // MARK: the team

    /// alice's vault (on `branch` when given), bob reading the root scope and
    /// signing, a bare remote (its HEAD naming `remoteHead` when given), alice's
    /// first sync, then bob's `coffer clone … --signer alice --signer bob`.
    /// Returns alice's first sync report.
    @discardableResult
    func setUpTeam(branch: String? = nil, remoteHead: String? = nil,
                   file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        _ = try requireTool("git", file: file, line: line)
        try initVault(name: "alice", file: file, line: line)
        if let branch { try gitOK(["branch", "-m", branch], file: file, line: line) }
        try FileManager.default.createDirectory(atPath: bobHome + "/.config", withIntermediateDirectories: true)
        try cofOK(["identity", "new"], env: bobEnv, clean: false, file: file, line: line)
        let shown = try cofOK(["identity", "show"], env: bobEnv, clean: false, file: file, line: line).stdoutText
        let bobSigner = try XCTUnwrap(shown.split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }, file: file, line: line)
        try alice(["recipients", "add", shown.ageLines, "--name", "bob"], file: file, line: line)
        try alice(["signers", "add", String(bobSigner), "--name", "bob"], file: file, line: line)
        try gitOK(["init", "-q", "--bare", remote], in: path(""), file: file, line: line)
        if let remoteHead { try gitOK(["symbolic-ref", "HEAD", "refs/heads/" + remoteHead], in: remote, file: file, line: line) }
        try alice(["remote", "add", "origin", remote], file: file, line: line)
        let first = try report(try alice(["sync", "-o", "json"], file: file, line: line), file: file, line: line)
        aliceFingerprint = try fingerprint(of: "alice", file: file, line: line)
        bobFingerprint = try fingerprint(of: "bob", file: file, line: line)
        // Bob names alice's key only: his own, listed in .signers, is pinned with it.
        let cloned = try cofOK(["clone", remote, bobDir, "--signer", aliceFingerprint], env: bobEnv, clean: false, file: file, line: line)
        XCTAssertTrue(cloned.stderrText.contains("pinned 2 signers"), cloned.stderrText, file: file, line: line)
        let status = try bob(["signers", "status", "-o", "json"], file: file, line: line).stdoutText
        XCTAssertTrue(status.contains(bobFingerprint), "bob's own key is not trusted in his clone: \(status)", file: file, line: line)
        try assertVaultClean(in: bobDir, after: "clone", file: file, line: line)
        return first
    }

    func fingerprint(of name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let json = try alice(["signers", "list", "-o", "json"], file: file, line: line).stdout
        let signers = try XCTUnwrap((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["signers"] as? [[String: Any]],
                                    file: file, line: line)
        return try XCTUnwrap(signers.first { $0["name"] as? String == name }?["fingerprint"] as? String,
                             "no signer \(name)", file: file, line: line)
    }

    // MARK: running coffer as alice or bob

    /// coffer in alice's clone; must exit `status` (nil: any). Her work tree
    /// must be clean afterwards.
    @discardableResult
    func alice(_ arguments: [String], stdin: String? = nil, status: Int32? = 0,
               file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        try person([:], aliceDir, arguments, stdin: stdin, status: status, file: file, line: line)
    }

    /// coffer in bob's clone, with his HOME and identity.
    @discardableResult
    func bob(_ arguments: [String], stdin: String? = nil, status: Int32? = 0,
             file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        try person(bobEnv, bobDir, arguments, stdin: stdin, status: status, file: file, line: line)
    }

    private func person(_ env: [String: String], _ directory: String, _ arguments: [String], stdin: String?, status: Int32?,
                        file: StaticString, line: UInt) throws -> CommandResult {
        let result = try cof(arguments, stdin: stdin.map { Data($0.utf8) }, env: env, clean: false, file: file, line: line)
        if let status {
            XCTAssertEqual(result.status, status, "\(result.command): \(result.stderrText)", file: file, line: line)
            if result.status != status { throw TestSetupError("\(result.command) exited \(result.status): \(result.stderrText)") }
        }
        try assertVaultClean(in: directory, after: result.command, file: file, line: line)
        return result
    }

    /// `sync -o json`, parsed; must exit `status`.
    @discardableResult
    func syncAlice(status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try report(try alice(["sync", "-o", "json"], status: status, file: file, line: line), file: file, line: line)
    }

    @discardableResult
    func syncBob(status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try report(try bob(["sync", "-o", "json"], status: status, file: file, line: line), file: file, line: line)
    }

    func report(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
                      "not a JSON object: \(result.stdoutText)", file: file, line: line)
    }

    /// `sync` both ways until both clones and the remote hold one commit:
    /// alice, bob, alice (the last only when bob made a merge).
    func syncAll(file: StaticString = #filePath, line: UInt = #line) throws {
        try syncAlice(file: file, line: line)
        try syncBob(file: file, line: line)
        try syncAlice(file: file, line: line)
        let tips = [try head(in: aliceDir, file: file, line: line), try head(in: bobDir, file: file, line: line),
                    try remoteTip(file: file, line: line)]
        XCTAssertEqual(Set(tips).count, 1, "alice, bob and the remote differ: \(tips)", file: file, line: line)
    }

    func remoteTip(branch: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let name = try branch ?? currentBranch(in: aliceDir, file: file, line: line)
        return try gitOK(["rev-parse", "refs/heads/" + name], in: remote, file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func currentBranch(in directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try gitOK(["symbolic-ref", "--short", "HEAD"], in: directory, file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: checks

    /// id → value, as `list --show-values` decrypts the clone.
    func values(in who: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let arguments = ["list", "--show-values", "--yes", "-o", "json"]
        let result = who == "bob" ? try bob(arguments, file: file, line: line) : try alice(arguments, file: file, line: line)
        let rows = try XCTUnwrap((try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])?["secrets"] as? [[String: Any]],
                                 file: file, line: line)
        var out: [String: String] = [:]
        for row in rows { out[row["id"] as? String ?? "?"] = row["value"] as? String ?? "<none>" }
        return out
    }

    /// `verify` exit 0 and `git fsck` without an error, in both clones (and fsck of the remote).
    func assertBothHealthy(file: StaticString = #filePath, line: UInt = #line) throws {
        try alice(["verify"], file: file, line: line)
        try bob(["verify"], file: file, line: line)
        for directory in [aliceDir, bobDir, remote] {
            let fsck = try git(["fsck", "--full", "--no-progress"], in: directory, file: file, line: line)
            XCTAssertEqual(fsck.status, 0, "git fsck in \(directory): \(fsck.stderrText)", file: file, line: line)
            let problems = (fsck.stdoutText + fsck.stderrText).split(separator: "\n").filter { !$0.hasPrefix("dangling ") && !$0.hasPrefix("notice: HEAD points to an unborn branch") }
            XCTAssertEqual(problems, [], "git fsck in \(directory)", file: file, line: line)
        }
        for directory in [aliceDir, bobDir] { try assertVaultClean(in: directory, after: "the checks", file: file, line: line) }
    }

    /// The parents of `revision` in `directory`.
    func parents(_ revision: String = "HEAD", in directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try gitOK(["rev-list", "--parents", "-n", "1", revision], in: directory, file: file, line: line).stdoutText
            .split(whereSeparator: \.isWhitespace).dropFirst().map(String.init)
    }

    /// No value, and no conflict marker, in any file below `root` (`.git` included).
    func assertNoPlaintext(under root: String, file: StaticString = #filePath, line: UInt = #line) {
        let needles = values.map { ($0, Data($0.utf8)) } + [("a conflict marker", Data("<<<<<<<".utf8))]
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            return XCTFail("cannot walk \(root)", file: file, line: line)
        }
        var seen = 0
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                  let bytes = FileManager.default.contents(atPath: root + "/" + relative) else { continue }
            seen += 1
            for (name, needle) in needles where bytes.range(of: needle) != nil {
                XCTFail("\(root)/\(relative) holds \(name.hasPrefix("CANARY") ? "a secret value" : name)", file: file, line: line)
            }
        }
        XCTAssertGreaterThan(seen, 0, "no file under \(root)", file: file, line: line)
    }

    /// The work tree (`.git` left out): path → bytes.
    func workTree(_ root: String) -> [String: Data] {
        snapshot(root).filter { !$0.key.hasPrefix(".git/") && $0.key != ".git/" }
    }

    /// No command's stdout (a reveal's aside) or stderr, and no commit
    /// message anywhere, holds a value this test sealed.
    func assertNothingLeaked(file: StaticString = #filePath, line: UInt = #line) throws {
        for directory in [aliceDir, bobDir, remote] where fileExists(directory) {
            _ = try git(["log", "--all", "--format=%B"], in: directory, file: file, line: line)
        }
        var checked = 0
        for result in cofferResults + gitResults {
            let revealing = result.command.contains(" --reveal") || result.command.contains(" --show-values")
            for value in values {
                let needle = Data(value.utf8)
                if !revealing { assertDoesNotContain(result.stdout, needle, "a secret value on stdout of \(result.command)", file: file, line: line) }
                assertDoesNotContain(result.stderr, needle, "a secret value on stderr of \(result.command)", file: file, line: line)
            }
            assertNoLeak(result, plaintext: nil, secrets: identitySecrets(), file: file, line: line)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "no command to check", file: file, line: line)
    }

    private func identitySecrets() -> [String] {
        [identityFile, bobHome + "/.config/coffer/identity", path("carol.key"), path("dave.key")].flatMap { file -> [String] in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").filter { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init)
        }
    }

    /// A third reader's key, `<tmp>/NAME.key` (carol, dave).
    func reader(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Key {
        try cofferKeygen(name + ".key", file: file, line: line)
    }

    /// `get ID --reveal --identity KEY` in `directory`'s vault.
    func reveal(_ id: String, in directory: String, as key: Key, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try cofOK(["get", id, "--reveal", "--vault", directory, "--identity", key.identityFile], clean: false,
                  file: file, line: line).stdoutText
    }
}
