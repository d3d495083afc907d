import Foundation
import XCTest

/// libgit2's CA bundle is read only when a remote is used (GitStore's
/// TLSCertificates): a `set` or `history` never parses it, a command that
/// talks to remotes still does, and an https transfer still runs after the
/// deferred load. Files opened are watched with strace.
final class TLSDeferralTests: VaultE2ECase {
    /// The files under /etc/ssl a coffer command opens.
    func tlsFilesOpened(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
        let strace = try requireTool("strace", file: file, line: line)
        let log = path("strace.\(arguments[0]).log")
        let result = try run(strace, ["-f", "-qq", "-e", "trace=open,openat", "-o", log, coffer] + arguments,
                             environment: vaultEnvironment(), file: file, line: line)
        XCTAssertEqual(result.status, 0, "coffer \(arguments.joined(separator: " ")): \(result.stderrText)", file: file, line: line)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        let opened = text.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "\"/etc/ssl/"), !line.contains("ENOENT") else { return nil }
            return line[start.upperBound...].split(separator: "\"").first.map { "/etc/ssl/" + $0 }
        }
        return Set(opened)
    }

    func testHistoryCommandsDoNotReadTheCABundleButRemotesDo() throws {
        try initVault()
        let value = try write("value", "a value\n")
        try cofOK(["set", "app/key", "--file", value])

        // Remotes load the bundle: this calibrates what "the bundle" is here.
        let remotes = try tlsFilesOpened(["remote", "list"])
        XCTAssertFalse(remotes.isEmpty, "`coffer remote list` read no CA certificates: is libgit2 built on mbedTLS here?")

        for command in [["set", "app/key", "--file", value], ["history", "app/key"], ["rm", "app/key"]] {
            let opened = try tlsFilesOpened(command)
            XCTAssertTrue(opened.isDisjoint(with: remotes), "`coffer \(command[0])` read the CA bundle: \(opened.sorted())")
        }
        XCTAssertEqual(try gitOK(["log", "--format=%s"]).stdoutText.split(separator: "\n").count, 3, "init, set and rm (setting the same value again commits nothing)")
    }

    func testAnHTTPSRemoteIsTriedAfterTheDeferredLoad() throws {
        try initVault()
        // Nothing listens on port 9 (discard) of this host: the connection is
        // refused, after libgit2 has its certificates — no crash, a clear error.
        try cofOK(["remote", "add", "origin", "https://127.0.0.1:9/vault.git"])
        let result = try cof(["sync"])
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("error:"), result.stderrText)
        XCTAssertFalse(result.stderrText.contains("certificate"), result.stderrText)
    }
}
