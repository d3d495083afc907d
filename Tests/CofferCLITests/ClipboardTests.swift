import Foundation
import XCTest
import Age
@testable import coffer
#if canImport(Glibc)
import Glibc
#endif

/// `coffer get ID --copy` against a real X server (Xvfb) and the stock
/// xclip: the clipboard holds the value, then what it held before; a
/// clipboard that changed meanwhile is left alone; coffer returns at once,
/// leaving a detached restorer that never sees the value, and the only
/// one of its display.
final class ClipboardTests: VaultE2ECase {
    /// The Xvfb servers started, and their displays; `display` is the first's.
    private var servers: [(process: Process, display: String)] = []
    private var display: String { servers.first?.display ?? "" }
    private var xclip = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        xclip = try requireTool("xclip")
        try startServer()
        try FileManager.default.createDirectory(atPath: runtimeDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try initVault()
        try cofOK(["set", "web/password", "--stdin"], stdin: secret)
    }

    override func tearDownWithError() throws {
        // The xclip daemons and restorers of each display, then the displays.
        for (xvfb, display) in servers {
            for pid in processes(onDisplay: display) { kill(pid, SIGKILL) }
            if xvfb.isRunning {
                xvfb.terminate()
                xvfb.waitUntilExit()
            }
        }
        try super.tearDownWithError()
    }

    private let secret = Data("s3cret-\(UUID().uuidString)".utf8)

    /// The user name, then the password, within the first's window: the
    /// second copy has the first restorer put back what was there before,
    /// so that, not the user name, comes back in the end.
    func testASecondCopyWithinTheWindowStillEndsWithWhatWasThereBefore() throws {
        let user = Data("user-\(UUID().uuidString)".utf8)
        try cofOK(["set", "web/user", "--stdin"], stdin: user)
        try setClipboard(Data("PREVIOUS".utf8))
        try cofOK(["get", "web/user", "--copy", "--clear-after", "3"], env: displayEnvironment)
        XCTAssertEqual(waitForClipboard(user, within: 1), user)
        sleep(1)
        try cofOK(["get", "web/password", "--copy", "--clear-after", "5"], env: displayEnvironment)
        XCTAssertEqual(clipboard(), secret)
        XCTAssertEqual(restorers(onDisplay: display).count, 1, "the first restorer still runs beside the second")
        try waitForRestorers()
        XCTAssertEqual(clipboard(), Data("PREVIOUS".utf8), "the clipboard did not get back what it held before the first copy")
        XCTAssertFalse(fileExists(pidFile(onDisplay: display)), "the pid file outlived its restorer")
    }

    /// A restorer of another display (here a second Xvfb) is neither woken nor waited for.
    func testARestorerOfAnotherDisplayIsLeftAlone() throws {
        try startServer()
        let other = servers[1].display
        try cofOK(["get", "web/password", "--copy", "--clear-after", "60"], env: displayEnvironment)
        let first = restorers(onDisplay: display)
        XCTAssertEqual(first.count, 1)
        try cofOK(["get", "web/password", "--copy", "--clear-after", "60"], env: environment(onDisplay: other))
        XCTAssertEqual(restorers(onDisplay: display), first)
        XCTAssertEqual(restorers(onDisplay: other).count, 1)
        XCTAssertEqual(clipboard(), secret)
        for shown in [display, other] {
            XCTAssertTrue(fileExists(pidFile(onDisplay: shown)), shown)
        }
    }

    /// With `bin` (relative) first in PATH, a `bin/xclip` where coffer runs
    /// is never given the value; with only relative entries, no tool is found.
    func testTheClipboardToolIsNeverFoundThroughARelativePathEntry() throws {
        let marker = path("stub-was-run")
        try FileManager.default.createDirectory(atPath: path("work/bin"), withIntermediateDirectories: true)
        let stub = try write("work/bin/xclip", "#!/bin/sh\ncat > '\(marker)'\n")
        chmod(stub, 0o755)
        let found = try cof(inDirectory: path("work"), ["get", "web/password", "--copy", "--clear-after", "0"],
                            env: displayEnvironment.merging(["PATH": "bin:.:" + (xclip as NSString).deletingLastPathComponent]) { $1 })
        XCTAssertEqual(found.status, 0, found.stderrText)
        XCTAssertEqual(clipboard(), secret)
        let none = try cof(inDirectory: path("work"), ["get", "web/password", "--copy"],
                           env: displayEnvironment.merging(["PATH": "bin:."]) { $1 })
        XCTAssertTrue(none.stderrText.hasPrefix("coffer: error: no clipboard to copy to: "), none.stderrText)
        XCTAssertFalse(fileExists(marker), "the value went to ./bin/xclip")
    }

    func testCopyHoldsTheValueThenWhatWasThereBefore() throws {
        try setClipboard(Data("before-VALUE".utf8))
        let result = try cofOK(["get", "web/password", "--copy", "--clear-after", "1"], env: displayEnvironment)
        XCTAssertEqual(result.stdoutText, "")
        XCTAssertEqual(result.stderrText, "copied web/password to the clipboard; its previous contents come back in 1 s\n")
        assertDoesNotContain(result.stderr, secret, "the value on stderr")
        try assertLastAudit("reveal:copy", ids: ["web/password"], commit: try head())
        // Right after coffer returned, before the second is up: it did not wait for the restorer.
        XCTAssertEqual(waitForClipboard(secret, within: 0.8), secret, "the clipboard does not hold the value")
        XCTAssertEqual(waitForClipboard(Data("before-VALUE".utf8), within: 10), Data("before-VALUE".utf8),
                       "the clipboard did not get its previous contents back")
    }

    func testAClipboardThatChangedMeanwhileIsLeftAlone() throws {
        try setClipboard(Data("before-VALUE".utf8))
        try cofOK(["get", "web/password", "--copy", "--clear-after", "2"], env: displayEnvironment)
        XCTAssertEqual(waitForClipboard(secret, within: 1.5), secret)
        try setClipboard(Data("copied-since".utf8))
        try waitForRestorers()
        XCTAssertEqual(clipboard(), Data("copied-since".utf8))
    }

    func testAClipboardThatHeldNothingIsEmptied() throws {
        XCTAssertEqual(clipboard() ?? Data(), Data(), "a fresh display's clipboard holds something")
        try cofOK(["get", "web/password", "--copy", "--clear-after", "1"], env: displayEnvironment)
        XCTAssertEqual(waitForClipboard(secret, within: 0.8), secret)
        try waitForRestorers()
        XCTAssertEqual(clipboard() ?? Data(), Data())
    }

    /// The restorer runs in a session of its own, with nothing of ours open
    /// (so `$(coffer get --copy)` returns), and has no copy of the value in
    /// its arguments or environment.
    func testTheRestorerIsDetachedAndNeverGivenTheValue() throws {
        let started = Date()
        try cofOK(["get", "web/password", "--copy", "--clear-after", "60"], env: displayEnvironment)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "coffer waited for the restorer")
        let restorers = restorers(onDisplay: display)
        XCTAssertEqual(restorers.count, 1, "one restorer")
        guard let pid = restorers.first else { return }
        let stat = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/stat"))) ?? Data(), as: UTF8.self)
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        XCTAssertEqual(fields.count > 3 ? Int32(fields[3]) : nil, pid, "not a session leader: \(stat)")  // state ppid pgrp session
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        XCTAssertEqual(descriptors.sorted(), ["0", "1", "2"])
        for fd in ["1", "2"] {
            XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"), "/dev/null")
        }
        assertDoesNotContain(commandLine(of: pid), secret, "the value in the restorer's arguments")
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        XCTAssertFalse(environment.isEmpty)
        assertDoesNotContain(environment, secret, "the value in the restorer's environment")
        XCTAssertEqual(clipboard(), secret)
        // Found again through a pid file only this user can read or replace.
        XCTAssertEqual(try? String(contentsOfFile: pidFile(onDisplay: display), encoding: .utf8), "\(pid)\n")
        XCTAssertEqual(permissions(of: pidFile(onDisplay: display)), 0o600)
        XCTAssertEqual(permissions(of: runtimeDirectory + "/coffer"), 0o700)
    }

    func testNoClipboardIsAClearError() throws {
        let result = try cof(["get", "web/password", "--copy"], env: ["DISPLAY": "", "WAYLAND_DISPLAY": ""])
        assertCofferError(result, plaintext: secret)
        XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: no clipboard to copy to: --copy needs wl-copy and wl-paste "
                                                  + "(with WAYLAND_DISPLAY set), or xclip or xsel (with DISPLAY set); "
                                                  + "here WAYLAND_DISPLAY is unset and DISPLAY is unset\n"), result.stderrText)
        XCTAssertEqual(result.stdoutText, "")
    }

    // MARK: the display

    private var displayEnvironment: [String: String] { environment(onDisplay: display) }

    private func environment(onDisplay display: String) -> [String: String] {
        ["DISPLAY": display, "WAYLAND_DISPLAY": "", "XDG_RUNTIME_DIR": runtimeDirectory]
    }

    private var runtimeDirectory: String { path("runtime") }

    /// Where coffer records the restorer of `display`.
    private func pidFile(onDisplay display: String) -> String { runtimeDirectory + "/coffer/clipboard-DISPLAY=\(display).pid" }

    private func permissions(of path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    /// Xvfb on the first free display from :90, ready once its socket is there.
    private func startServer() throws {
        let server = try requireTool("Xvfb")
        for number in 90..<190 {
            let socket = "/tmp/.X11-unix/X\(number)"
            guard !fileExists(socket), !fileExists("/tmp/.X\(number)-lock") else { continue }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: server)
            process.arguments = [":\(number)", "-nolisten", "tcp"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, !fileExists(socket), Date() < deadline { usleep(20_000) }
            if process.isRunning, fileExists(socket) {
                servers.append((process, ":\(number)"))
                return
            }
            if process.isRunning { process.terminate(); process.waitUntilExit() }
        }
        throw TestSetupError("Xvfb did not start on any display from :90 to :189")
    }

    /// Runs `xclip -selection clipboard` on `data`. Not through `run`: the
    /// xclip that stays behind to serve the selection would inherit the
    /// descriptor by which Foundation's `Process` sees its child end, and
    /// the wait would never return. Here it inherits nothing but /dev/null.
    private func setClipboard(_ data: Data) throws {
        let input = try write(".io/clipboard-input", data)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // glibc ignores a close of a descriptor that is not open by then.
        for fd in (try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).compactMap(Int32.init) where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        let words: [String] = [xclip, "-selection", "clipboard"], settings: [String] = ["DISPLAY=\(display)", "PATH=/usr/bin:/bin"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] = settings.map { strdup($0) } + [nil]
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, xclip, &actions, nil, argv, environment)
        guard rc == 0 else { throw TestSetupError("cannot run xclip: \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw TestSetupError("xclip -selection clipboard exited with status \(status)") }
    }

    /// What the clipboard holds as text, nil when xclip finds nothing there.
    private func clipboard() -> Data? {
        guard let result = try? run(xclip, ["-selection", "clipboard", "-o"], environment: ["DISPLAY": display]),
              result.status == 0 else { return nil }
        return result.stdout
    }

    /// Polls the clipboard until it holds `expected`; what it held last.
    private func waitForClipboard(_ expected: Data, within seconds: TimeInterval) -> Data? {
        let deadline = Date().addingTimeInterval(seconds)
        var seen = clipboard()
        while seen != expected, Date() < deadline {
            usleep(100_000)
            seen = clipboard()
        }
        return seen
    }

    /// Until no restorer of this display runs (each sleeps its seconds first).
    private func waitForRestorers() throws {
        let deadline = Date().addingTimeInterval(15)
        while !restorers(onDisplay: display).isEmpty {
            guard Date() < deadline else { throw TestSetupError("the restorer is still running after 15 s") }
            usleep(100_000)
        }
    }

    /// Our processes (other than Xvfb) whose environment names `display`.
    private func processes(onDisplay display: String) -> [pid_t] {
        let marker = Data("DISPLAY=\(display)\0".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard pid != getpid(), !servers.contains(where: { $0.process.processIdentifier == pid }),
                  let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { return false }
            return environment.starts(with: marker) || environment.range(of: Data([0]) + marker) != nil
        }
    }

    private func restorers(onDisplay display: String) -> [pid_t] {
        processes(onDisplay: display).filter { commandLine(of: $0).contains(Data("restore-clipboard".utf8)) }
    }

    private func commandLine(of pid: pid_t) -> Data {
        (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
    }
}

/// What `get --copy` hands its restorer: read back exactly, anything else refused.
final class ClipboardHandoffTests: XCTestCase {
    func testTheHandoffReadsBackAsWritten() throws {
        for previous in [SecureBytes(copying: Array("before".utf8)), SecureBytes(count: 0), nil] {
            let key = SecureBytes.random(count: Digest.keyedHashSize)
            let hash = Array(repeating: UInt8(7), count: Digest.keyedHashSize)
            let decoded = try XCTUnwrap(ClipboardCopy.Handoff(decoding: ClipboardCopy.Handoff(key: key, hash: hash, previous: previous).encoded()))
            XCTAssertTrue(decoded.key.constantTimeEquals(key))
            XCTAssertEqual(decoded.hash, hash)
            XCTAssertEqual(decoded.previous.map { $0.withUnsafeBytes { Array($0) } }, previous.map { $0.withUnsafeBytes { Array($0) } })
        }
    }

    func testAnythingElseIsRefused() {
        let size = Digest.keyedHashSize
        for bytes in [[UInt8](), Array(repeating: 0, count: 2 * size), Array(repeating: 0, count: 2 * size) + [2],
                      Array(repeating: 0, count: 2 * size) + [0, 65]] {
            XCTAssertNil(ClipboardCopy.Handoff(decoding: SecureBytes(copying: bytes)), "\(bytes.count) bytes")
        }
    }

    /// The keyed hash recognises the value, and only under its key.
    func testTheKeyedHashNeedsItsKey() {
        let value = Array("s3cret".utf8)
        let key = SecureBytes.random(count: Digest.keyedHashSize), other = SecureBytes.random(count: Digest.keyedHashSize)
        let hash = value.withUnsafeBytes { Digest.keyedHash($0, key: key) }
        XCTAssertEqual(hash.count, Digest.keyedHashSize)
        XCTAssertEqual(value.withUnsafeBytes { Digest.keyedHash($0, key: key) }, hash)
        XCTAssertNotEqual(value.withUnsafeBytes { Digest.keyedHash($0, key: other) }, hash)
        XCTAssertNotEqual(Array("s3cres".utf8).withUnsafeBytes { Digest.keyedHash($0, key: key) }, hash)
    }
}
