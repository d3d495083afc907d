import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

extension VaultE2ECase {
    var auditDirectory: String { homeDir + "/.local/state/coffer" }
    var auditLogPath: String { auditDirectory + "/audit.log" }

    /// The audit log's lines as JSON objects, read by Foundation (not coffer).
    func auditLines(file: StaticString = #filePath, line: UInt = #line) throws -> [[String: String]] {
        guard fileExists(auditLogPath) else { return [] }
        let text = try String(contentsOfFile: auditLogPath, encoding: .utf8)
        return try text.split(separator: "\n").map { raw in
            let object = try JSONSerialization.jsonObject(with: Data(raw.utf8))
            guard let fields = object as? [String: String] else {
                XCTFail("not a flat object of strings: \(raw)", file: file, line: line)
                return [:]
            }
            return fields
        }
    }

    /// The last audit entry is `action` naming exactly `ids`.
    func assertLastAudit(_ action: String, ids: [String], commit: String? = nil, vault: String? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let last = try auditLines(file: file, line: line).last
        XCTAssertEqual(last?["action"], action, "last audit entry: \(last ?? [:])", file: file, line: line)
        XCTAssertEqual(Set((last?["ids"] ?? "").split(separator: " ").map(String.init)), Set(ids), "ids of \(action)", file: file, line: line)
        if let commit { XCTAssertEqual(last?["commit"], commit, "commit of \(action)", file: file, line: line) }
        XCTAssertEqual(last?["user"], "tester", file: file, line: line)
        XCTAssertEqual(last?["vault"], vault ?? vaultDir, file: file, line: line)
    }
}

/// The audit log (issue 13): one hash-chained line per reveal and per
/// change, never a value; `audit --verify` names each kind of tampering;
/// a reveal whose line cannot be written does not happen.
final class AuditTests: VaultE2ECase {
    func testEveryChangeAndRevealIsOneLineWithoutValues() throws {
        _ = try initVault()
        let first = canary("first"), second = canary("second")
        try cofOK(["set", "app/db=" + first])
        try assertLastAudit("set", ids: ["app/db"], commit: try head())
        try cofOK(["get", "app/db", "--reveal"])
        try assertLastAudit("reveal:get", ids: ["app/db"], commit: try head())
        try cofOK(["set", "app/db=" + second])
        let firstCommit = try gitOK(["rev-list", "--skip=1", "-1", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try cofOK(["get", "app/db", "--reveal", "--at", firstCommit])
        try assertLastAudit("reveal:get", ids: ["app/db"], commit: firstCommit)
        try cofOK(["rollback", "app/db", "--to", firstCommit])
        try assertLastAudit("rollback", ids: ["app/db"], commit: try head())
        try cofOK(["mv", "app/db", "app/database"])
        try assertLastAudit("mv", ids: ["app/db", "app/database"], commit: try head())
        try cofOK(["rm", "app/database"])
        try assertLastAudit("rm", ids: ["app/database"], commit: try head())
        try cofOK(["restore", "app/database"])
        try assertLastAudit("restore", ids: ["app/database"], commit: try head())
        let other = try ageKeygen("bob")
        try cofOK(["recipients", "add", other.recipient, "--name", "bob"])
        try assertLastAudit("rewrap", ids: ["app/database"], commit: try head())
        try cofOK(["recipients", "rm", "bob", "--yes"])
        try assertLastAudit("rekey", ids: ["app/database"], commit: try head())
        try cofOK(["rotate"])
        try assertLastAudit("rotate", ids: ["app/database"], commit: try head())
        try cofOK(["diff", firstCommit, "HEAD", "--reveal", "--yes"])
        try assertLastAudit("reveal:diff", ids: ["app/database", "app/db"], commit: try head())
        let exported = path("plain.env")
        try cofOK(["export", "app", "--format", "dotenv", "--reveal", "--yes", "-o", exported])
        try assertLastAudit("reveal:export", ids: ["app/database"])

        let lines = try auditLines()
        XCTAssertEqual(lines.map { $0["seq"] }, (1...lines.count).map { String($0) })
        let raw = try Data(contentsOf: URL(fileURLWithPath: auditLogPath))
        for value in [first, second] { assertDoesNotContain(raw, Data(value.utf8), "the audit log") }
        XCTAssertEqual(try mode("home/.local/state/coffer/audit.log"), 0o600)
        XCTAssertEqual(try mode("home/.local/state/coffer"), 0o700)
        let verified = try cofOK(["audit", "--verify"], clean: false)
        XCTAssertTrue(verified.stderrText.contains("intact: \(lines.count) entries"), verified.stderrText)
        let shown = try cofOK(["audit", "--id", "app/db", "-o", "json"], clean: false)
        let entries = try XCTUnwrap((try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any])?["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["action"] as? String }, ["set", "reveal:get", "set", "reveal:get", "rollback", "mv", "reveal:diff"])
    }

    func testAuditOffRecordsNothing() throws {
        _ = try initVault()
        try cofOK(["config", "--user", "audit", "off"], clean: false)
        try cofOK(["set", "a=1"])
        try cofOK(["get", "a", "--reveal"])
        XCTAssertEqual(try auditLines().count, 0)
        XCTAssertEqual(try cofOK(["config", "--user"], clean: false).stdoutText.contains("off"), true)
        try cofOK(["config", "--user", "audit", "on"], clean: false)
        try cofOK(["get", "a", "--reveal"])
        try assertLastAudit("reveal:get", ids: ["a"])
    }

    // MARK: tampering

    /// Four entries, then `tamper` on the log's lines; `--verify` must fail naming `expected`.
    private func assertTamperingFound(_ expected: String, _ tamper: (inout [String]) -> Void,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try initVault(file: file, line: line)
        for n in 1...4 { try cofOK(["set", "k\(n)=v"], file: file, line: line) }
        XCTAssertEqual(try cof(["audit", "--verify"], clean: false).status, 0, file: file, line: line)
        var lines = try String(contentsOfFile: auditLogPath, encoding: .utf8).split(separator: "\n").map(String.init)
        tamper(&lines)
        try (lines.map { $0 + "\n" }.joined()).write(toFile: auditLogPath, atomically: false, encoding: .utf8)
        let result = try cof(["audit", "--verify"], clean: false)
        XCTAssertEqual(result.status, 1, result.stderrText, file: file, line: line)
        XCTAssertTrue(result.stderrText.contains(expected), "expected “\(expected)”: \(result.stderrText)", file: file, line: line)
    }

    func testAnEditedLineIsNamed() throws {
        try assertTamperingFound("line 3: does not follow line 2: line 2 was changed") { $0[1] = $0[1].replacingOccurrences(of: "\"k2\"", with: "\"k9\"") }
    }

    func testAnEditedLastLineIsNamed() throws {
        try assertTamperingFound("line 4: the last line was changed") { $0[3] = $0[3].replacingOccurrences(of: "\"k4\"", with: "\"k9\"") }
    }

    func testADeletedLineIsNamed() throws {
        try assertTamperingFound("line 2: is entry 3, but entry 2 should be here: entry 2 was removed") { $0.remove(at: 1) }
    }

    func testReorderedLinesAreNamed() throws {
        try assertTamperingFound("line 2: is entry 3, but entry 2 should be here: entries were reordered or copied") { $0.swapAt(1, 2) }
    }

    func testLinesCutOffTheEndAreNamed() throws {
        try assertTamperingFound("line 2: the log ends here, but 4 entries were written: the last 2 entries were removed") { $0.removeLast(2) }
    }

    // MARK: fail closed

    func testARevealIsRefusedWhenItsLineCannotBeWritten() throws {
        _ = try initVault()
        let value = canary("closed")
        try cofOK(["set", "a=" + value])
        try FileManager.default.removeItem(atPath: auditLogPath)
        try FileManager.default.createDirectory(atPath: auditLogPath, withIntermediateDirectories: false)
        let refused = try cof(["get", "a", "--reveal"])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("cannot write the audit log"), refused.stderrText)
        assertDoesNotContain(refused.stdout + refused.stderr, Data(value.utf8), "a refused reveal")
        // A change is refused before it is made, too.
        let before = try head()
        XCTAssertEqual(try cof(["set", "a=2"]).status, 1)
        XCTAssertEqual(try head(), before)
    }

    func testARevealIsRefusedOnAReadOnlyMount() throws {
        let unshare = try requireTool("unshare")
        _ = try initVault()
        let value = canary("readonly")
        try cofOK(["set", "a=" + value])
        // A read-only tmpfs over the log's directory, in a private mount
        // namespace (chmod does not stop root; a mount does).
        let script = "mount -t tmpfs -o ro tmpfs \"$1\" && exec \"$2\" get a --reveal"
        let result = try run(unshare, ["-rm", "sh", "-c", script, "sh", auditDirectory, coffer!], environment: vaultEnvironment())
        XCTAssertEqual(result.status, 1, "status \(result.status): \(result.stderrText)")
        XCTAssertTrue(result.stderrText.contains("cannot write the audit log"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("Read-only file system"), result.stderrText)
        assertDoesNotContain(result.stdout, Data(value.utf8), "a refused reveal")
    }
}
