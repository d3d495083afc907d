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
        XCTAssertEqual(lines.first?["action"], "init")
        let shown = try cofOK(["audit", "--id", "app/db", "-o", "json"], clean: false)
        let entries = try XCTUnwrap((try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any])?["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["action"] as? String }, ["set", "reveal:get", "set", "reveal:get", "rollback", "mv", "reveal:diff"])
        let since = try cofOK(["audit", "--since", "2000-01-01T00:00Z", "-o", "json"], clean: false)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: since.stdout) as? [String: Any])?["entries"].map { ($0 as? [Any])?.count }, lines.count)
        let future = try cofOK(["audit", "--since", "2999-01-01", "-o", "json"], clean: false)
        XCTAssertEqual(future.stdoutText, #"{"entries":[]}"# + "\n")
    }

    func testInitListAndGenerateAreRecorded() throws {
        _ = try initVault()
        XCTAssertEqual(try auditLines().first?["action"], "init")
        XCTAssertEqual(try auditLines().first?["commit"], try head())
        try cofOK(["set", "a=1", "b=2"])
        try cofOK(["list", "--show-values", "--yes"])
        try assertLastAudit("reveal:list", ids: ["a", "b"])
        try cofOK(["generate", "g"])
        try assertLastAudit("generate", ids: ["g"], commit: try head())
        let shown = try cofOK(["generate", "h", "--reveal", "--yes"])
        try assertLastAudit("reveal:generate", ids: ["h"], commit: try head())
        XCTAssertEqual(try auditLines().suffix(2).map { $0["action"] }, ["generate", "reveal:generate"])
        XCTAssertEqual(shown.stdout, try reveal("h"))
    }

    func testAGeneratedValueIsNotShownWithoutItsLine() throws {
        _ = try initVault()
        // A head coffer cannot read: every change and reveal is refused before it happens.
        try "junk\n".write(toFile: auditDirectory + "/audit.head", atomically: false, encoding: .utf8)
        let before = try head()
        let refused = try cof(["generate", "g", "--reveal", "--yes"])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertEqual(refused.stdout, Data())
        XCTAssertTrue(refused.stderrText.contains("is not one coffer wrote"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: move it aside"), refused.stderrText)
        XCTAssertEqual(try head(), before, "a change was committed without its audit line")
        XCTAssertEqual(try cof(["set", "a=1"]).status, 1)
        XCTAssertEqual(try head(), before)
        // Moved aside, the head is rebuilt from the log and the chain goes on.
        try FileManager.default.moveItem(atPath: auditDirectory + "/audit.head", toPath: auditDirectory + "/audit.head.bad")
        try cofOK(["set", "a=1"])
        XCTAssertEqual(try cof(["audit", "--verify"], clean: false).status, 0)
    }

    func testATornLineIsNamedOnceAndTheChainGoesOn() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        // A line cut short (a full disk, a crash mid-write).
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: auditLogPath))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":"3","time":"2026-11-28T14:0"#.utf8))
        try handle.close()
        try cofOK(["get", "a", "--reveal"])
        try cofOK(["get", "a", "--reveal"])
        let result = try cof(["audit", "--verify"], clean: false)
        XCTAssertEqual(result.status, 1)
        let errors = result.stderrText.split(separator: "\n").filter { $0.contains(" line ") && $0.hasPrefix("coffer: error: /") }
        XCTAssertEqual(errors.count, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("line 3: not a line coffer wrote"), result.stderrText)
        // Both reveals are whole entries after the cut line, and `coffer audit` shows them.
        let shown = try cofOK(["audit", "-o", "json"], clean: false)
        XCTAssertTrue(shown.stderrText.contains("1 line is not coffer's"), shown.stderrText)
        let entries = try XCTUnwrap((try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any])?["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.suffix(2).map { $0["action"] as? String }, ["reveal:get", "reveal:get"])
        XCTAssertEqual(entries.suffix(2).map { $0["seq"] as? Int }, [4, 5])
    }

    func testAHeadLeftBehindByACrashIsCaughtUp() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        let headPath = auditDirectory + "/audit.head"
        let older = try Data(contentsOf: URL(fileURLWithPath: headPath))
        try cofOK(["get", "a", "--reveal"])
        // As if the process died between writing the line and replacing the head.
        try older.write(to: URL(fileURLWithPath: headPath))
        let lagging = try cof(["audit", "--verify"], clean: false)
        XCTAssertEqual(lagging.status, 1)
        XCTAssertTrue(lagging.stderrText.contains("line 3: entries up to 3 were added after the last entry coffer recorded in the head, 2"), lagging.stderrText)
        try cofOK(["get", "a", "--reveal"])
        let verified = try cof(["audit", "--verify"], clean: false)
        XCTAssertEqual(verified.status, 0, verified.stderrText)
        XCTAssertEqual(try auditLines().map { $0["seq"] }, ["1", "2", "3", "4"])
    }

    /// The head is rewritten in place (a rename over it cost every reveal a
    /// writeback), 144 bytes wide; a head as coffer wrote it before, with
    /// narrow numbers, is read the same and rewritten at the next append.
    func testTheHeadIsRewrittenInPlaceAndAnOldOneRead() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        let headPath = auditDirectory + "/audit.head"
        var before = stat(), after = stat()
        XCTAssertEqual(lstat(headPath, &before), 0)
        try cofOK(["get", "a", "--reveal"])
        XCTAssertEqual(lstat(headPath, &after), 0)
        XCTAssertEqual(before.st_ino, after.st_ino, "rewritten in place, not replaced")
        let text = try String(contentsOfFile: headPath, encoding: .utf8)
        XCTAssertEqual(text.utf8.count, 144, text)
        XCTAssertTrue(text.contains("\nlines 00000000000000000003\n"), text)
        let fields = text.split(separator: "\n")
        let old = "coffer-audit-head 1\nlines 3\nbytes \(Int(fields[2].dropFirst(6))!)\n\(fields[3])\n"
        try old.write(toFile: headPath, atomically: false, encoding: .utf8)
        XCTAssertEqual(try cof(["audit", "--verify"], clean: false).status, 0, "the old format reads")
        try cofOK(["get", "a", "--reveal"])
        XCTAssertEqual(try cof(["audit", "--verify"], clean: false).status, 0)
        let rewritten = try String(contentsOfFile: headPath, encoding: .utf8)
        XCTAssertEqual(rewritten.utf8.count, 144, rewritten)
        XCTAssertTrue(rewritten.contains("\nlines 00000000000000000004\n"), rewritten)
    }

    func testAnUnreadableSettingsFileIsMendedByConfigUser() throws {
        _ = try initVault()
        try "audit = maybe\n".write(toFile: configHome + "/coffer/config", atomically: false, encoding: .utf8)
        let refused = try cof(["get", "a"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("line 1 is not a setting coffer knows"), refused.stderrText)
        try cofOK(["config", "--user", "audit", "on"], clean: false)
        XCTAssertTrue(try cofOK(["config", "--user"], clean: false).stdoutText.contains("on"))
    }

    func testAuditOffRecordsNothingButTheSwitches() throws {
        _ = try initVault()
        try cofOK(["config", "--user", "audit", "off"], clean: false)
        XCTAssertEqual(try auditLines().last?["action"], "config:audit=off")
        let whileOff = try auditLines().count
        try cofOK(["set", "a=1"])
        try cofOK(["get", "a", "--reveal"])
        XCTAssertEqual(try auditLines().count, whileOff)
        XCTAssertTrue(try cofOK(["audit"], clean: false).stderrText.contains("auditing is off"))
        XCTAssertEqual(try cofOK(["config", "--user"], clean: false).stdoutText.contains("off"), true)
        try cofOK(["config", "--user", "audit", "on"], clean: false)
        XCTAssertEqual(try auditLines().last?["action"], "config:audit=on")
        try cofOK(["get", "a", "--reveal"])
        try assertLastAudit("reveal:get", ids: ["a"])
        XCTAssertEqual(try cof(["audit", "--verify"], clean: false).status, 0)
    }

    func testListingABrokenLogWarns() throws {
        _ = try initVault()
        try cofOK(["set", "a=1"])
        try cofOK(["set", "b=1"])
        var lines = try String(contentsOfFile: auditLogPath, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "\"set\"", with: "\"rm\"")
        try (lines.map { $0 + "\n" }.joined()).write(toFile: auditLogPath, atomically: false, encoding: .utf8)
        let shown = try cofOK(["audit"], clean: false)
        XCTAssertTrue(shown.stderrText.contains("the log's chain is broken"), shown.stderrText)
    }

    // MARK: tampering

    /// Five entries (init, four sets), then `tamper` on the log's lines; `--verify` must fail naming `expected`.
    private func assertTamperingFound(_ expected: String, places: Int = 1, _ tamper: (inout [String]) -> Void,
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
        // Each change is named where it is, and nothing else is blamed.
        let named = result.stderrText.split(separator: "\n").filter { $0.hasPrefix("coffer: error: /") }
        XCTAssertEqual(named.count, places, result.stderrText, file: file, line: line)
    }

    func testAnEditedLineIsNamed() throws {
        try assertTamperingFound("line 4: does not follow line 3: line 3 was changed") { $0[2] = $0[2].replacingOccurrences(of: "\"k2\"", with: "\"k9\"") }
    }

    func testAnEditedLastLineIsNamed() throws {
        try assertTamperingFound("line 5: the last line was changed") { $0[4] = $0[4].replacingOccurrences(of: "\"k4\"", with: "\"k9\"") }
    }

    func testADeletedLineIsNamed() throws {
        try assertTamperingFound("line 3: is entry 4, but entry 3 should be here: entry 3 was removed") { $0.remove(at: 2) }
    }

    func testReorderedLinesAreNamed() throws {
        try assertTamperingFound("line 3: is entry 4, but entry 3 should be here: entries were reordered or copied", places: 2) { $0.swapAt(2, 3) }
    }

    func testLinesCutOffTheEndAreNamed() throws {
        try assertTamperingFound("line 3: the log ends here, but 5 entries were written: the last 2 entries were removed") { $0.removeLast(2) }
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
