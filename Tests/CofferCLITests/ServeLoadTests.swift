import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer serve` under real clients: schemathesis against docs/openapi.yaml,
/// and wrk's load with writes among the reads.
final class ServeLoadTests: VaultE2ECase {
    static let repository = ServeTests.repository

    /// schemathesis (from PyPI; .ci/run installs it in a virtual environment)
    /// generates requests from the document, runs every check it has, and
    /// fails on a server error or an answer the document does not allow.
    func testSchemathesisFindsNothing() throws {
        let schemathesis = try requireTool("schemathesis")
        try initVault()
        try cofOK(["set", "dev/db", "--stdin"], stdin: Data("value".utf8))
        let token = try makeToken(["--scope", "/", "--write", "--reveal", "--reveal-links", "--name", "fuzz"])
        let server = try ServeProcess(self, ["--rate", "100000", "--write-rate", "100000"])
        defer { server.stop() }
        let document = ServeLoadTests.repository.appendingPathComponent("docs/openapi.yaml").path
        let result = try run(schemathesis, ["run", document, "--url", "http://\(server.address)", "-H", "Authorization: Bearer \(token)",
                                            "--checks", "all", "--max-examples", "40", "--seed", "20261129", "--workers", "1",
                                            "--no-color"],
                             environment: ["HOME": homeDir, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                                           "SCHEMATHESIS_HOOKS": "", "LC_ALL": "C.UTF-8"],
                             timeout: 600)
        XCTAssertEqual(result.status, 0, "schemathesis found problems:\n\(result.stdoutText.suffix(6000))\n\(result.stderrText.suffix(2000))")
        XCTAssertTrue(result.stdoutText.contains("Tested: 8"), result.stdoutText.suffix(3000).description)
        XCTAssertFalse(server.log.contains(" 500 "), server.log)
        XCTAssertFalse(server.log.contains(String(token.dropFirst(4))))
    }

    /// 30 s of wrk on loopback, 50 connections: masked gets and 5 % writes,
    /// each with its own Idempotency-Key and id (scripts/serve-load.lua,
    /// which the bench uses too), under a write limit below
    /// the vault's commit rate. Every answer is 200 or (over the limit) 429;
    /// every acknowledged write is in the history exactly once and nothing
    /// else was committed; the server's memory stays bounded.
    func testLoadWithWritesLosesAndDuplicatesNothing() throws {
        let wrk = try requireTool("wrk")
        try initVault()
        try cofOK(["set", "dev/db", "--stdin"], stdin: Data("load-canary-value".utf8))
        let token = try makeToken(["--scope", "/", "--write", "--name", "load"])
        let server = try ServeProcess(self, ["--rate", "1000000", "--write-rate", "10", "--log-level", "warning"])
        defer { server.stop() }
        let before = try commitCount()
        let acknowledged = path("acknowledged")
        let script = ServeLoadTests.repository.appendingPathComponent("scripts/serve-load.lua").path

        let load = Process()
        load.executableURL = URL(fileURLWithPath: wrk)
        load.arguments = ["-t", "2", "-c", "50", "-d", "30s", "--timeout", "10s", "--latency", "-s", script, "http://\(server.address)"]
        load.environment = ["LOAD_TOKEN": token, "LOAD_ID": "dev/db", "LOAD_WRITES": "1", "LOAD_ACKED": acknowledged]
        _ = FileManager.default.createFile(atPath: acknowledged, contents: nil)
        let output = path("wrk.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        load.standardOutput = FileHandle(forWritingAtPath: output)
        load.standardError = FileHandle(forWritingAtPath: output)
        try load.run()
        var resident: [Int] = []
        while load.isRunning {
            usleep(1_000_000)
            resident.append(server.residentKiB)
        }
        XCTAssertEqual(load.terminationStatus, 0)
        let report = try String(contentsOfFile: output, encoding: .utf8)
        print("wrk against coffer serve (debug build):\n\(report)")

        // Only 200 and 429: no error, no timeout, no broken connection.
        XCTAssertFalse(report.contains("Socket errors"), report)
        let result = try XCTUnwrap(report.split(separator: "\n").first { $0.hasPrefix("result ") }, report).split(separator: " ")
        XCTAssertEqual(result.last, "0", "no socket errors")
        let counts = try XCTUnwrap(report.split(separator: "\n").first { $0.hasPrefix("statuses ") }, report)
        let statuses = Dictionary(uniqueKeysWithValues: counts.split(separator: " ").dropFirst().map { pair in
            let parts = pair.split(separator: "=")
            return (String(parts[0]), Int(parts[1]) ?? -1)
        })
        XCTAssertEqual(Set(statuses.keys).subtracting(["200", "429"]), [], "statuses: \(statuses)")
        XCTAssertGreaterThan(statuses["200"] ?? 0, 1000, "the load was served: \(statuses)")

        // Every acknowledged write is committed exactly once, and nothing else
        // is: each commit since the start writes one load/ id, no id twice. wrk
        // stops at 30 s without reading the answers still on their way, so a
        // few commits (at most one per connection) may have no acknowledgement.
        let writes = (try String(contentsOfFile: acknowledged, encoding: .utf8)).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertGreaterThan(writes.count, 50, "writes were acknowledged")
        let commits = try gitOK(["log", "--format=%H", "--name-only", "-\(try commitCount() - before)"]).stdoutText
            .split(separator: "\n").reduce(into: [(commit: Substring, files: [Substring])]()) { out, line in
                if line.count == 40, !line.contains("/") { out.append((line, [])) } else { out[out.count - 1].files.append(line) }
            }
        let committed = Dictionary(grouping: commits, by: { $0.files.first ?? "" })
        XCTAssertTrue(commits.allSatisfy { $0.files.count == 1 && $0.files[0].hasPrefix("load/") }, "\(commits.prefix(3))")
        XCTAssertEqual(committed.count, commits.count, "no id committed twice")
        XCTAssertLessThanOrEqual(commits.count - writes.count, 50, "commits without an acknowledgement: at most one per connection")
        XCTAssertGreaterThanOrEqual(commits.count, writes.count)
        for write in writes {
            XCTAssertEqual(committed[write[0] + ".age"]?.map(\.commit), [write[1]], "\(write[0]) is in history once, in the commit its answer named")
        }

        // Memory: bounded through the run (debug build; most of it the runtime and NIO's pools).
        let peak = resident.max() ?? 0
        print("coffer serve resident memory, KiB, once a second: \(resident)")
        XCTAssertLessThan(peak, 256 * 1024, "peak \(peak) KiB")
        if resident.count > 10 {
            XCTAssertLessThan(resident.suffix(5).max()! - resident[4], 64 * 1024, "grew under steady load: \(resident)")
        }
        XCTAssertFalse(server.log.contains("load-canary-value"))
    }
}
