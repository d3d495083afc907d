import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a tmux pane showed at one moment: its rows as text, top to bottom
/// (`capture-pane -p`: no styles, trailing blanks trimmed).
struct PaneScreen: CustomStringConvertible {
    let lines: [String]

    var text: String { lines.joined(separator: "\n") }
    /// The row of the selection bar, which starts with `› `.
    var selected: String? { lines.first { $0.hasPrefix("› ") } }
    /// The status line (questions, notices), second from the bottom.
    var status: String { lines.count >= 2 ? lines[lines.count - 2] : "" }
    /// The keys line, at the bottom.
    var keys: String { lines.last ?? "" }
    /// The rows between the title and the status line: the tree or a panel.
    var body: [String] { lines.count > 3 ? Array(lines[1..<(lines.count - 2)]) : [] }

    var description: String {
        lines.enumerated().map { String(format: "%2d|", $0.offset) + $0.element }.joined(separator: "\n")
    }
}

/// Base class of the `coffer ui` end-to-end tests: a private tmux server
/// (its own socket, `-f /dev/null`) per test, one pane running `coffer ui`
/// on the test's vault through a shell that stays after it quits, and
/// every capture of the pane searched for the values the test registered.
/// The server is killed in tearDown.
class TerminalUICase: VaultE2ECase {
    private(set) var tmux = ""
    private var server: Process?
    private var socket: String?
    /// Values no capture may show, except one a step has just revealed.
    var values: [String] = []
    /// Every capture of the pane so far, for values learnt later (a generated one).
    private(set) var captured: [String] = []
    /// How long a step waits for the screen it expects.
    let patience: TimeInterval = 10

    /// The values of `seed()`.
    var top = "", api = "", db = ""

    override func tearDownWithError() throws {
        stopServer()
        try super.tearDownWithError()
    }

    /// A vault with `top` at the root and a `prod` scope holding `prod/api`
    /// and `prod/db`, each a registered value.
    func seed(file: StaticString = #filePath, line: UInt = #line) throws {
        try initVault(file: file, line: line)
        try makeScope("prod", file: file, line: line)
        (top, api, db) = (value("top"), value("api"), value("db"))
        try cofOK(["set", "top=" + top, "prod/api=" + api, "prod/db=" + db], file: file, line: line)
    }

    /// The tree of `seed()` as the UI first draws it, with the selection on row `selected`.
    func seededTree(selected: Int) -> [String] {
        let rows = ["▾ /  readers: tester  (1)", "  top", "▾ prod  readers: tester  (2)", "  api", "  db"]
        return rows.enumerated().map { ($0.offset == selected ? "› " : "  ") + $0.element }
    }

    /// The rows of the tree on `screen`, without the blank ones under it.
    func treeRows(_ screen: PaneScreen) -> [String] { screen.body.filter { !$0.isEmpty } }

    /// `canary(tag)`, remembered as a value no screen may show unrevealed.
    func value(_ tag: String) -> String {
        let value = canary(tag)
        values.append(value)
        return value
    }

    /// Makes `directory` a scope with the vault's root readers, committed
    /// with git and accepted by this clone.
    func makeScope(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try FileManager.default.createDirectory(atPath: vaultDir + "/" + directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: vaultDir + "/.recipients", toPath: vaultDir + "/\(directory)/.recipients")
        try gitOK(["add", "\(directory)/.recipients"], file: file, line: line)
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "\(directory) scope"], file: file, line: line)
        try cofOK(["recipients", "accept", "--yes"], file: file, line: line)
    }

    // MARK: the pane

    /// Starts `coffer ui` in a new pane of `columns`×`rows`, with the vault
    /// tests' environment only (`env -i`), NO_COLOR=1 unless `colour`
    /// (`noColor` sets it to something else), and `extra` on top. When the UI
    /// exits the pane shows `UI-EXITED <status>` and stays. With `jobControl`
    /// the UI runs as a job of its own (`set -m`, under a shell that waits
    /// for it whatever happens), as from an interactive shell, so a SIGTSTP
    /// stops it; else it shares the orphaned process group of the pane's
    /// shell, where the kernel discards one. Waits for the first screen (its
    /// title row). A second call replaces the first server.
    func startUI(columns: Int = 100, rows: Int = 20, colour: Bool = false, noColor: String? = nil, jobControl: Bool = false,
                 env extra: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        try startServer(file: file, line: line)
        var environment = vaultEnvironment([
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "TERM": "screen",
            "COFFER_TEST_SCRYPT_WORK_FACTOR": CLITestCase.testWorkFactor,
        ])
        if !colour { environment["NO_COLOR"] = "1" }
        if let noColor { environment["NO_COLOR"] = noColor }
        for (k, v) in extra { environment[k] = v }
        let ui = #""$0" ui --vault "$1""#
        let script = (jobControl ? #"set -m; sh -c '"# + ui + #"; exit $?' "$0" "$1""# : ui)
            + "; echo UI-EXITED $?; exec sleep 600"
        let command = ["env", "-i"] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + ["/bin/sh", "-c", script, coffer!, vaultDir]
        try tmuxOK(["new-session", "-d", "-s", "ui", "-x", String(columns), "-y", String(rows), "-c", dir.path, "--"] + command,
                   file: file, line: line)
        try screen("the first screen", file: file, line: line) { $0.lines.first?.hasPrefix(" coffer ui ") == true }
    }

    /// The process id of `coffer ui`: the descendant of the pane's shell
    /// that runs the coffer executable (by its name, as /proc/PID/comm keeps it).
    func uiProcess(file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
        let shell = try tmuxOK(["display-message", "-p", "-t", "ui", "#{pane_pid}"], file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let name = String(URL(fileURLWithPath: coffer).lastPathComponent.prefix(15))
        var queue = [shell]
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            if comm.trimmingCharacters(in: .whitespacesAndNewlines) == name, let found = pid_t(pid) { return found }
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            queue += children.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        XCTFail("no coffer process under the pane's shell (\(shell))", file: file, line: line)
        throw TestSetupError("no coffer ui process")
    }

    /// Waits until process `pid` is stopped (state T in /proc/PID/stat).
    func waitUntilStopped(_ pid: pid_t, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(patience)
        var state = "?"
        repeat {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // `pid (comm) S …`: the state follows the command's closing parenthesis.
            if let close = stat.lastIndex(of: ")") {
                state = String(stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1))
            }
            if state == "T" { return }
            usleep(10_000)
        } while Date() < deadline
        XCTFail("process \(pid) is not stopped (state \(state))", file: file, line: line)
    }

    /// Starts a tmux server in the foreground (`-D`), a child of this
    /// process, and waits until it answers. A server that `new-session`
    /// forks as a daemon would inherit the socket through which Foundation
    /// learns that its child exited, and `run` would wait for that client
    /// as long as the server lives.
    private func startServer(file: StaticString, line: UInt) throws {
        tmux = try requireTool("tmux", file: file, line: line)
        stopServer()
        let name = "coffer-test-" + randomBytes(6).map { String(format: "%02x", $0) }.joined()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tmux)
        process.arguments = ["-L", name, "-f", "/dev/null", "-D"]
        process.currentDirectoryURL = dir
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        (server, socket) = (process, name)
        let deadline = Date().addingTimeInterval(patience)
        // It succeeds once the server listens.
        while try run(tmux, ["-N", "-L", name, "list-sessions"], file: file, line: line).status != 0 {
            guard process.isRunning, Date() < deadline else {
                XCTFail("the tmux server did not start (tmux -L \(name) -D)", file: file, line: line)
                throw TestSetupError("the tmux server did not start")
            }
            usleep(10_000)
        }
    }

    /// Kills the server (and with it the pane), waits for it, and removes its socket.
    private func stopServer() {
        guard let server, let socket else { return }
        _ = try? run(tmux, ["-N", "-L", socket, "kill-server"], timeout: patience)
        let deadline = Date().addingTimeInterval(patience)
        while server.isRunning && Date() < deadline { usleep(10_000) }
        if server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        let base = ProcessInfo.processInfo.environment["TMUX_TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        unlink("\(base)/tmux-\(getuid())/\(socket)")
        (self.server, self.socket) = (nil, nil)
    }

    @discardableResult
    func tmuxOK(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        guard let socket else { throw TestSetupError("no tmux server started") }
        // -N: a client never starts a server of its own (see startServer).
        let result = try run(tmux, ["-N", "-L", socket] + arguments, timeout: patience, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(result.command) failed: \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(result.command) exited \(result.status): \(result.stderrText)") }
        return result
    }

    /// Presses keys by tmux's names (`j`, `Enter`, `Escape`, `C-u`, `Down`).
    func press(_ keys: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        try tmuxOK(["send-keys", "-t", "ui", "--"] + keys, file: file, line: line)
    }

    /// Types `text` as it is (`send-keys -l`).
    func type(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try tmuxOK(["send-keys", "-t", "ui", "-l", "--", text], file: file, line: line)
    }

    /// Pastes `text` as a terminal does when the program asked for
    /// bracketed paste (tmux turns each LF into CR, as a terminal sends Enter).
    func paste(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try tmuxOK(["set-buffer", "-b", "test", "--", text], file: file, line: line)
        try tmuxOK(["paste-buffer", "-p", "-d", "-b", "test", "-t", "ui"], file: file, line: line)
    }

    /// Resizes the pane's window.
    func resize(columns: Int, rows: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try tmuxOK(["resize-window", "-t", "ui", "-x", String(columns), "-y", String(rows)], file: file, line: line)
    }

    /// The pane's text now (`capture-pane -p` and `extra` options), checked
    /// for every value but `revealing`.
    func capture(_ extra: [String] = [], revealing: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let text = try tmuxOK(["capture-pane", "-p", "-t", "ui"] + extra, file: file, line: line).stdoutText
        captured.append(text)
        assertNoValue(in: text, but: revealing, "capture-pane \(extra.joined(separator: " "))", file: file, line: line)
        return text
    }

    /// Polls the pane until `expected` holds of it in two captures in a row
    /// that are the same; fails showing the last screen after `patience`.
    /// Every capture on the way is checked for values. (tmux may read a
    /// frame from the pty in pieces: one capture can show its top rows
    /// drawn and the rest still the frame before.)
    @discardableResult
    func screen(_ what: String, revealing: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                until expected: (PaneScreen) -> Bool) throws -> PaneScreen {
        let deadline = Date().addingTimeInterval(patience)
        var previous: [String]?
        while true {
            var lines = try capture(revealing: revealing, file: file, line: line).components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            let shown = PaneScreen(lines: lines)
            if expected(shown) && lines == previous { return shown }
            previous = lines
            if Date() > deadline {
                XCTFail("timed out after \(Int(patience)) s waiting for \(what); the screen:\n\(shown)", file: file, line: line)
                throw TestSetupError("timed out waiting for \(what)")
            }
            usleep(20_000)
        }
    }

    /// Waits for `text` anywhere on the screen.
    @discardableResult
    func screen(showing text: String, revealing: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> PaneScreen {
        try screen("“\(text)”", revealing: revealing, file: file, line: line) { $0.text.contains(text) }
    }

    /// Waits for the status line to be `status`.
    @discardableResult
    func screen(status: String, revealing: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> PaneScreen {
        try screen("the status line “\(status)”", revealing: revealing, file: file, line: line) { $0.status == status }
    }

    /// Fails if `text` holds a registered value (or its random part) other than `allowed`.
    func assertNoValue(in text: String, but allowed: String? = nil, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        for value in values where value != allowed {
            let hidden = ![value, randomPart(value)].contains { text.contains($0) }
            XCTAssertTrue(hidden, "\(what) shows a value that is not revealed:\n\(text)", file: file, line: line)
        }
    }

    /// Fails if any capture so far showed `value`.
    func assertNeverShown(_ value: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(value.count, 15, "too short to look for", file: file, line: line)
        for text in captured where text.contains(value) {
            XCTFail("a capture shows the value:\n\(text)", file: file, line: line)
        }
    }

    /// The 32 hexadecimal digits in the middle of a canary: shown whenever
    /// enough of it is to matter, even when a narrow row cuts the value.
    func randomPart(_ value: String) -> String {
        value.split(separator: "-").map(String.init).max { $0.count < $1.count } ?? value
    }

    /// Quits with `key` (`q`, `C-c`) and checks the UI left nothing behind
    /// (`assertExited`). Before, the screen under the UI's is blank and no
    /// line went to the scrollback.
    func quit(with key: String = "q", file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try capture(["-a"], file: file, line: line).split(separator: "\n"), [], "the screen under the UI's",
                       file: file, line: line)
        _ = try capture(["-S", "-", "-E", "-"], file: file, line: line)
        try press(key, file: file, line: line)
        try assertExited(status: 0, file: file, line: line)
    }

    /// Waits for `UI-EXITED status`; then neither the screen nor the
    /// scrollback holds anything but that line (after `shellSays`, the
    /// shell's word on a signal), a value least of all, and there is no
    /// alternate screen left. `revealing` may show until then.
    func assertExited(status: Int32, shellSays: String? = nil, revealing: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let exited = "UI-EXITED \(status)"
        // The lines left: the shell's word (if any), then the exit line.
        func assertOnly(_ text: String, _ what: String) {
            let lines = text.split(separator: "\n").filter { !$0.isEmpty }.map(String.init)
            let shell = lines.dropLast()
            let expected = lines.last == exited && (shellSays.map { word in shell.count == 1 && shell[0].contains(word) } ?? shell.isEmpty)
            XCTAssertTrue(expected, "\(what) holds more than the exit line:\n\(text)", file: file, line: line)
        }
        let after = try screen(showing: exited, revealing: revealing, file: file, line: line)
        assertOnly(after.text, "the screen after quitting")
        assertNoValue(in: after.text, "the screen after quitting", file: file, line: line)
        assertOnly(try capture(["-S", "-", "-E", "-"], file: file, line: line), "the scrollback")
        let alternate = try run(tmux, ["-N", "-L", socket ?? "", "capture-pane", "-p", "-a", "-t", "ui"], file: file, line: line)
        XCTAssertNotEqual(alternate.status, 0, "the alternate screen is still on: \(alternate.stdoutText)", file: file, line: line)
        assertNoValue(in: alternate.stdoutText + alternate.stderrText, "capture-pane -a", file: file, line: line)
        try assertVaultClean(after: "coffer ui", file: file, line: line)
    }

    // MARK: the vault afterwards

    /// `coffer log -o json -n COUNT`: each change's action and ids, newest first.
    func lastChanges(_ count: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [(action: String, ids: Set<String>)] {
        let shown = try cofOK(["log", "-o", "json", "-n", String(count)], file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any]
        let changes = object?["changes"] as? [[String: Any]] ?? []
        return changes.map { ($0["action"] as? String ?? "", Set($0["ids"] as? [String] ?? [])) }
    }
}
