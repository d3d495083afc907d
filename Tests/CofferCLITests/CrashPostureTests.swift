import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a running or crashing coffer exposes: not dumpable (its /proc/PID/mem
/// and environ belong to root, so other processes of the same user cannot read
/// them), no core file, and a crash prints a fixed line instead of the Swift
/// backtracer's registers and memory.
final class CrashPostureTests: VaultE2ECase {
    private static let nobody = "65534"

    /// `get --reveal` of a 1 MiB value as an unprivileged uid, held on a full
    /// stdout pipe while its /proc entries are inspected.
    func testARunningGetIsNotDumpableAndHasNoCoreLimit() throws {
        let setpriv = try requireOtherUID()
        try initVault()
        let value = Data(randomBytes(768 * 1024).base64EncodedData().prefix(1024 * 1024))
        try cofOK(["set", "big", "--stdin"], stdin: value)
        let binary = try shareWithNobody()

        let out = Pipe()
        let process = try startAsNobody(setpriv, [binary, "get", "big", "--reveal"], stdin: FileHandle(forReadingAtPath: "/dev/null")!, stdout: out)
        let pid = process.processIdentifier
        defer { kill(pid, SIGKILL); process.waitUntilExit() }

        // Full pipe: the value is decrypted and coffer is blocked writing it.
        var queued: Int32 = 0
        for _ in 0..<400 where queued < 65536 && process.isRunning {
            usleep(25_000)
            _ = ioctl(out.fileHandleForReading.fileDescriptor, UInt(FIONREAD), &queued)
        }
        XCTAssertGreaterThanOrEqual(queued, 65536, "coffer get did not fill its stdout pipe (exited: \(!process.isRunning))")
        XCTAssertTrue(process.isRunning)

        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.split(separator: "\n").contains { $0.hasPrefix("Uid:") && $0.split(separator: "\t").dropFirst().allSatisfy { $0 == Self.nobody } },
                      "the held process does not run as uid \(Self.nobody): \(status)")
        for entry in ["mem", "environ"] {
            var info = stat()
            XCTAssertEqual(stat("/proc/\(pid)/\(entry)", &info), 0)
            XCTAssertEqual(info.st_uid, 0, "/proc/PID/\(entry) belongs to uid \(info.st_uid): the process is dumpable")
        }
        try assertNoCoreFile(pid)
    }

    /// `coffer-yaml` holds revealed values (`get --reveal -o yaml`) too: held
    /// on an open stdin as an unprivileged uid, it is not dumpable and has no core.
    func testTheYAMLWriterIsNotDumpableEither() throws {
        let setpriv = try requireOtherUID()
        let helper = path("coffer-yaml")
        try FileManager.default.copyItem(atPath: URL(fileURLWithPath: coffer).deletingLastPathComponent().appendingPathComponent("coffer-yaml").path,
                                         toPath: helper)
        _ = try shareWithNobody()
        let input = Pipe()
        let process = try startAsNobody(setpriv, [helper], stdin: input, stdout: FileHandle(forWritingAtPath: "/dev/null")!)
        let pid = process.processIdentifier
        defer { kill(pid, SIGKILL); process.waitUntilExit() }
        input.fileHandleForWriting.write(Data("{\"value\": \"".utf8))

        // Until its main has run (loading Foundation takes a moment): then for good.
        var owner: uid_t = 65534
        for _ in 0..<200 where owner != 0 && process.isRunning {
            usleep(25_000)
            var info = stat()
            // setpriv itself is undumpable for a moment after setuid: only
            // once the process is coffer-yaml (its comm, set by exec) does it count.
            if (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "coffer-yaml\n",
               stat("/proc/\(pid)/mem", &info) == 0, info.st_uid == 0 {
                owner = 0
            }
        }
        XCTAssertTrue(process.isRunning, "coffer-yaml exited instead of waiting for its input")
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Uid:\t\(Self.nobody)\t"), "coffer-yaml does not run as uid \(Self.nobody): \(status)")
        XCTAssertEqual(owner, 0, "/proc/PID/mem of coffer-yaml (uid \(Self.nobody)) never became root's: it is dumpable")
        try assertNoCoreFile(pid)
    }

    /// A real fault right after decryption (a debug-only trigger): one fixed
    /// line on stderr, none of the value, no register or memory dump.
    func testACrashShowsNoBytes() throws {
        try initVault()
        let value = canary("crash")
        try cofOK(["set", "crashy", "--stdin"], stdin: Data(value.utf8))
        for (how, signal) in [("1", SIGSEGV), ("abort", SIGABRT)] {
            let result = try cof(["get", "crashy", "--reveal"], env: ["COFFER_TEST_CRASH_AFTER_READ": how])
            if result.status == 0 { throw XCTSkip("the crash trigger exists only in debug builds") }
            XCTAssertEqual(result.status, 128 + signal, "\(how): \(result.stderrText)")
            XCTAssertEqual(result.stderrText,
                           "coffer: error: internal failure (crashed); no report is written, so no secret leaves the process\n")
            assertDoesNotContain(result.stderr, Data(value.utf8), "stderr of a crash (\(how))")
            assertDoesNotContain(result.stdout, Data(value.utf8), "stdout of a crash (\(how))")
        }
    }

    /// `ARGS…` run as uid and gid 65534 through setpriv, in the test directory.
    private func startAsNobody(_ setpriv: String, _ arguments: [String], stdin: Any, stdout: Any) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = ["--reuid", Self.nobody, "--regid", Self.nobody, "--clear-groups"] + arguments
        process.currentDirectoryURL = dir
        process.environment = vaultEnvironment()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }

    /// /proc/PID/limits shows a core file size of 0.
    private func assertNoCoreFile(_ pid: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
        XCTAssertEqual(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first, "0",
                       "core limit: \(core ?? "none")", file: file, line: line)
    }

    /// setpriv, and the power to become another uid. Neither: a failure under
    /// CI=true, a skip elsewhere.
    private func requireOtherUID() throws -> String {
        var reason: String?
        if geteuid() != 0 { reason = "the tests do not run as root, so they cannot run coffer as another uid" }
        let setpriv = Tools.which("setpriv")
        if setpriv == nil { reason = "`setpriv` is not installed (Debian: apt-get install util-linux)" }
        guard let reason else { return setpriv! }
        let message = reason + "; the crash-posture tests inspect /proc of a process of another uid"
        if Tools.isCI {
            XCTFail("CI=true and " + message)
            throw TestSetupError(message)
        }
        throw XCTSkip(message)
    }

    /// A copy of coffer inside the test directory, which becomes nobody's (a
    /// git repository of another owner is refused; the build tree may not be
    /// reachable by nobody).
    private func shareWithNobody() throws -> String {
        let binary = path("coffer")
        try FileManager.default.copyItem(atPath: coffer, toPath: binary)
        chmod(dir.path, 0o755)
        let chown = try run("chown", ["-R", "\(Self.nobody):\(Self.nobody)", dir.path])
        XCTAssertEqual(chown.status, 0, chown.stderrText)
        return binary
    }
}
