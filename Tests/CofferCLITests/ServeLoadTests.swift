import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer serve` under real clients: schemathesis against docs/openapi.yaml,
/// and wrk's load with writes among the reads.
final class ServeLoadTests: VaultE2ECase {
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
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path
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
    /// each with its own Idempotency-Key and id, under a write limit below
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
        let script = try write("load.lua", ServeLoadTests.script(token: token, log: acknowledged))

        let load = Process()
        load.executableURL = URL(fileURLWithPath: wrk)
        load.arguments = ["-t", "2", "-c", "50", "-d", "30s", "--timeout", "10s", "--latency", "-s", script, "http://\(server.address)"]
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
        let counts = try XCTUnwrap(report.split(separator: "\n").first { $0.hasPrefix("statuses ") }, report)
        let statuses = Dictionary(uniqueKeysWithValues: counts.split(separator: " ").dropFirst().map { pair in
            let parts = pair.split(separator: "=")
            return (String(parts[0]), Int(parts[1]) ?? -1)
        })
        XCTAssertEqual(Set(statuses.keys).subtracting(["200", "429"]), [], "statuses: \(statuses)")
        XCTAssertGreaterThan(statuses["200"] ?? 0, 1000, "the load was served: \(statuses)")

        // Every acknowledged write is committed exactly once, and nothing else.
        let writes = (try String(contentsOfFile: acknowledged, encoding: .utf8)).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertGreaterThan(writes.count, 50, "writes were acknowledged")
        XCTAssertEqual(Set(writes.map { $0[0] }).count, writes.count, "one acknowledgement per id")
        XCTAssertEqual(try commitCount(), before + writes.count, "as many commits as acknowledged writes")
        let log = try gitOK(["log", "--format=%H %s", "--name-only", "-\(writes.count)"]).stdoutText
        for write in writes {
            let commit = String(write[1]), id = String(write[0])
            let touching = try gitOK(["log", "--format=%H", "--", id + ".age"]).stdoutText.split(separator: "\n")
            XCTAssertEqual(touching, [Substring(commit)], "\(id) is in history once, in the commit its answer named")
        }
        XCTAssertFalse(log.isEmpty)

        // Memory: bounded through the run (debug build; most of it the runtime and NIO's pools).
        let peak = resident.max() ?? 0
        print("coffer serve resident memory, KiB, once a second: \(resident)")
        XCTAssertLessThan(peak, 256 * 1024, "peak \(peak) KiB")
        if resident.count > 10 {
            XCTAssertLessThan(resident.suffix(5).max()! - resident[4], 64 * 1024, "grew under steady load: \(resident)")
        }
        XCTAssertFalse(server.log.contains("load-canary-value"))
    }

    /// wrk's script: one request in twenty a PUT of a fresh id with its own
    /// Idempotency-Key, the rest masked GETs. Each thread appends the
    /// acknowledged writes (id and commit, from the answer) to `log`, and
    /// counts statuses, which `done` prints as `statuses 200=N 429=N …`.
    static func script(token: String, log: String) -> String {
        """
        local threads = {}
        local counter = 0
        function setup(thread)
          thread:set("number", #threads + 1)
          table.insert(threads, thread)
        end
        function init(args)
          statuses = {}
          acked = io.open("\(log)", "a")
        end
        function request()
          counter = counter + 1
          local headers = { ["Authorization"] = "Bearer \(token)" }
          if counter % 20 == 0 then
            local id = "load/t" .. number .. "-" .. counter
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = "k-" .. number .. "-" .. counter
            return wrk.format("PUT", "/v1/secrets/" .. id, headers, '{"value":"v' .. counter .. '"}')
          end
          return wrk.format("GET", "/v1/secrets/dev/db", headers)
        end
        function response(status, headers, body)
          statuses[status] = (statuses[status] or 0) + 1
          if status == 200 then
            local id, commit = string.match(body, '"id":"(load/[^"]+)","commit":"(%x+)"')
            if id then
              acked:write(id .. " " .. commit .. "\\n")
              acked:flush()
            end
          end
        end
        function done(summary, latency, requests)
          local total = {}
          for _, thread in ipairs(threads) do
            for status, n in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + n end
          end
          local line = "statuses"
          for status, n in pairs(total) do line = line .. " " .. status .. "=" .. n end
          print(line)
          print(string.format("p99 %.2f ms, p50 %.2f ms, %.0f requests/s", latency:percentile(99) / 1000,
                              latency:percentile(50) / 1000, summary.requests / (summary.duration / 1e6)))
        end
        """
    }
}
