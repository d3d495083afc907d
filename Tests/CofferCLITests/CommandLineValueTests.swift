import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer set ID=VALUE`: the value leaves the process's argv (what ps and
/// /proc/PID/cmdline show) before the vault lock is taken, and a terminal
/// user is told once why the prompt or --stdin is better.
final class CommandLineValueTests: VaultE2ECase {
    private static let warning = "coffer: warning: values on the command line are visible to other local users (ps, /proc) "
        + "and may stay in your shell history; prefer the prompt (coffer set ID) or --stdin"

    func testAValueLeavesTheCommandLineBeforeTheLockIsTaken() throws {
        try initVault()
        let value = canary("argv")
        let fd = open(vaultDir + "/.git/coffer.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0, "cannot take the lock: errno \(errno)")
        var held = true
        defer { if held { close(fd) } }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: coffer)
        process.arguments = ["set", "waiting=" + value]
        process.currentDirectoryURL = dir
        process.environment = vaultEnvironment(["COFFER_LOCK_TIMEOUT": "5"])
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) }; process.waitUntilExit() }

        // Waiting on the lock, the value must be gone from what others see.
        var shown = Data()
        for _ in 0..<120 {
            shown = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.processIdentifier)/cmdline"))) ?? Data()
            if shown.range(of: Data("set".utf8)) != nil && shown.range(of: Data(value.utf8)) == nil { break }
            usleep(25_000)
        }
        XCTAssertTrue(process.isRunning, "coffer did not wait on the lock")
        assertDoesNotContain(shown, Data(value.utf8), "/proc/PID/cmdline while waiting on the lock")
        XCTAssertNotNil(shown.range(of: Data("waiting=".utf8)), "the id is gone too: \(String(decoding: shown, as: UTF8.self))")

        close(fd)
        held = false
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertFalse(stderr.contains("warning"), "warned without a terminal: \(stderr)")
        XCTAssertEqual(try reveal("waiting"), Data(value.utf8))
    }

    func testATerminalIsWarnedOnce() throws {
        try initVault()
        let value = canary("tty")
        let result = try runOnTerminal([coffer, "set", "a=" + value, "b=2"], prompt: "(?!)", answer: "")
        XCTAssertEqual(result.status, 0, result.stdoutText)
        let warnings = result.stdoutText.components(separatedBy: Self.warning).count - 1
        XCTAssertEqual(warnings, 1, "the terminal showed: \(result.stdoutText)")
        XCTAssertEqual(try reveal("a"), Data(value.utf8))

        let prompted = try cofOK(["set", "c=3"])
        XCTAssertFalse(prompted.stderrText.contains("warning"), "warned without a terminal: \(prompted.stderrText)")
    }
}
