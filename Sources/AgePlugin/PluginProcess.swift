#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// One running `age-plugin-NAME` and the stanzas exchanged over its pipes.
///
/// Every read and write is bounded by the per-message timeout, so a plugin
/// that hangs, stops reading or floods is met with an error, never a hang;
/// every way out kills what is still running and reaps it, so no zombie is
/// left. Its stderr is kept (the last `tailSize` bytes) to be shown only when
/// it fails; our read buffer is wiped, since `file-key` bodies pass through it.
final class PluginProcess {
    let plugin: String
    private let pid: pid_t
    private var stdin: Int32
    private var stdout: Int32
    private var stderr: Int32
    private var reaped = false
    private let timeout: Double

    private var buffer = SecureBytes(count: 16 * 1024)
    private var start = 0, end = 0
    private var stderrTail: [UInt8] = []

    /// The stderr kept for an error message.
    static let tailSize = 1024
    /// One message's bound: a recipient stanza is a few hundred bytes.
    static let maxMessage = 1 << 20
    /// How long a plugin that sent `done` (or lost its output) gets to exit.
    static let exitGrace = 2.0

    init(path: String, plugin: String, stateMachine: String, environment: [String], timeout: Double) throws {
        // A plugin that exits early makes our next write fail with EPIPE, not kill us.
        signal(SIGPIPE, SIG_IGN)
        let child: ChildProcess.Child
        do {
            child = try ChildProcess.spawn([path, "--age-plugin=\(stateMachine)"], input: true, output: true,
                                           capturingErrors: true, environment: environment)
        } catch let failure as ChildProcess.CannotRun {
            throw PluginError.cannotStart(plugin: plugin, errno: failure.errno)
        }
        self.plugin = plugin
        self.timeout = timeout
        pid = child.pid
        stdin = child.stdin
        stdout = child.stdout
        stderr = child.stderr
        for fd in [stdin, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit { kill() }

    // MARK: sending

    func send(_ stanza: Stanza) throws {
        try stanza.encoded.withUnsafeBytes { try write($0) }
    }

    /// Sends a message already encoded in a wiped buffer (`SecretMessage`).
    func send(encoded message: SecureBytes) throws {
        try message.withUnsafeBytes { try write($0) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        let deadline = Monotonic.seconds() + timeout
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(stdin, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                try wait(for: stdin, events: POLLOUT, until: deadline)
                continue
            }
            // EPIPE: the plugin closed its input, most likely by exiting.
            throw ended(reading: false)
        }
    }

    // MARK: receiving

    /// The next stanza, within the timeout. A malformed one ends the session.
    func receive() throws -> Stanza {
        let deadline = Monotonic.seconds() + timeout
        var lines: [[UInt8]] = []
        var size = 0
        // The lines may hold a file key in base64: wiped once parsed.
        defer { for i in lines.indices { SecretMessage.wipe(&lines[i]) } }
        func next() throws -> [UInt8] {
            let line = try readLine(until: deadline, limit: PluginProcess.maxMessage - size)
            size += line.count + 1
            lines.append(line)
            return line
        }
        do {
            return try Stanza.parse(argumentLine: try next(), nextLine: next)
        } catch AgeError.malformedHeader(let why) {
            throw fail(.malformed(why))
        }
    }

    private func readLine(until deadline: Double, limit: Int) throws -> [UInt8] {
        var scanned = 0  // unread bytes already known to hold no LF
        while true {
            let newline = buffer.withUnsafeBytes { b in (start + scanned..<end).first { b[$0] == 0x0A } }
            if let newline {
                guard newline - start <= limit else { throw fail(.malformed("a message over \(PluginProcess.maxMessage) bytes")) }
                let line = buffer.withUnsafeBytes { Array($0[start..<newline]) }
                start = newline + 1
                return line
            }
            scanned = end - start
            guard scanned <= limit else { throw fail(.malformed("a message over \(PluginProcess.maxMessage) bytes")) }
            makeRoom()
            let n = buffer.withUnsafeMutableBytes { Glibc.read(stdout, $0.baseAddress! + end, $0.count - end) }
            if n > 0 { end += n; continue }
            if n == 0 { throw ended(reading: true) }
            if errno == EINTR { continue }
            guard errno == EAGAIN else { throw ended(reading: true) }
            try wait(for: stdout, events: POLLIN, until: deadline)
        }
    }

    /// Moves unread bytes to the front and grows the buffer when it is full.
    private func makeRoom() {
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in
                if end > start { b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: end - start) }
                // What lay past the moved bytes is stale: it may be a key's base64.
                b.baseAddress!.advanced(by: end - start).initializeMemory(as: UInt8.self, repeating: 0, count: start)
            }
            end -= start
            start = 0
        }
        if end == buffer.count {
            let bigger = SecureBytes(count: buffer.count * 2)
            bigger.withUnsafeMutableBytes { b in buffer.withUnsafeBytes { b.copyMemory(from: $0) } }
            buffer = bigger
        }
    }

    // MARK: waiting

    /// Waits until `fd` is ready, keeping the stderr pipe drained meanwhile
    /// (a plugin blocked on a full stderr would never answer).
    private func wait(for fd: Int32, events: Int32, until deadline: Double) throws {
        while true {
            let left = deadline - Monotonic.seconds()
            guard left > 0 else { throw fail(.timedOut(seconds: timeout)) }
            var fds = [pollfd(fd: fd, events: Int16(events), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
            let polled = poll(&fds, 2, Int32(min(left, 3600) * 1000) + 1)
            if polled < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { drainErrors() }
            if fds[0].revents != 0 { return }
        }
    }

    /// Reads what the plugin wrote to stderr so far, keeping the tail.
    private func drainErrors() {
        guard stderr >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(stderr, &chunk, chunk.count)
            if n > 0 {
                stderrTail += chunk[0..<n]
                if stderrTail.count > PluginProcess.tailSize { stderrTail.removeFirst(stderrTail.count - PluginProcess.tailSize) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 || errno != EAGAIN {
                close(stderr)
                stderr = -1
            }
            return
        }
    }

    // MARK: ending

    /// The end after the plugin's `done`: pipes closed, a short grace to
    /// exit, then killed; reaped either way. Its exit status no longer matters.
    func finish() {
        closePipes()
        if !reaped {
            _ = ChildProcess.wait(pid, until: Monotonic.seconds() + min(timeout, PluginProcess.exitGrace))
            reaped = true
        }
    }

    /// Ends the session for `why`: the plugin is killed and reaped, and the
    /// error carries the tail of its stderr.
    func fail(_ why: PluginError.Failure) -> PluginError {
        kill()
        return .failed(plugin: plugin, why: why, stderr: errorText())
    }

    /// Ends the session after the plugin's own `error` command.
    func reported(_ subject: PluginError.Subject, message: String) -> PluginError {
        kill()
        return .reported(plugin: plugin, about: subject, message: message)
    }

    /// The plugin's output ended (or its input closed) mid-session: it exited,
    /// or it closed the pipe and runs on.
    private func ended(reading: Bool) -> PluginError {
        let deadline = Monotonic.seconds() + min(timeout, 0.5)
        var status: Int32 = 0
        while !reaped {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid || (done < 0 && errno != EINTR) {
                reaped = true
                break
            }
            if Monotonic.seconds() >= deadline { break }
            drainErrors()
            usleep(5_000)
        }
        guard reaped else {
            return fail(reading ? .closedOutput : .malformed("closed its input before the session ended"))
        }
        collectErrors(until: Monotonic.seconds() + 0.5)
        closePipes()
        let code: Int32? = status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
        return .failed(plugin: plugin, why: .exited(status: code), stderr: errorText())
    }

    /// Kills the plugin if it still runs and reaps it; closes our pipe ends.
    private func kill() {
        if !reaped {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
            collectErrors(until: Monotonic.seconds() + 0.2)
        }
        closePipes()
    }

    /// Reads stderr to its end (a dead plugin's last words), within the deadline.
    private func collectErrors(until deadline: Double) {
        while stderr >= 0 {
            let left = deadline - Monotonic.seconds()
            guard left > 0 else { return }
            var ready = pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, Int32(left * 1000) + 1)
            if polled < 0 && errno != EINTR { return }
            if ready.revents != 0 { drainErrors() }
        }
    }

    private func closePipes() {
        for fd in [stdin, stdout, stderr] where fd >= 0 { close(fd) }
        stdin = -1
        stdout = -1
        stderr = -1
        _ = buffer.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        start = 0
        end = 0
    }

    private func errorText() -> String {
        let text = String(decoding: stderrTail, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}
