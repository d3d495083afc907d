#if canImport(Glibc)
import Glibc
#endif
import Posix

/// The controlling terminal in full-screen mode: raw input (no echo, no line
/// editing, no signals from keys), the alternate screen and a hidden
/// cursor. Leaving clears the alternate screen before switching back, so
/// nothing drawn there — a revealed value — stays on the screen or reaches
/// the scrollback; a SIGTERM, SIGHUP or SIGQUIT leaves the same way first.
public final class Terminal {
    public let input: Int32
    public let output: Int32
    private var saved = termios()
    private var active = false

    /// The terminal on `input` and `output`, or nil when either is not one.
    public init?(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        guard isatty(input) == 1, isatty(output) == 1 else { return nil }
        self.input = input
        self.output = output
    }

    /// Columns and rows; 80×24 when the terminal does not say.
    public var size: (columns: Int, rows: Int) {
        var window = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else { return (80, 24) }
        return (Int(window.ws_col), Int(window.ws_row))
    }

    public func enter() throws {
        guard !active else { return }
        guard tcgetattr(input, &saved) == 0 else { throw TerminalError.notATerminal }
        var raw = saved
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSAFLUSH, &raw) == 0 else { throw TerminalError.notATerminal }
        active = true
        TerminalGuard.arm(fd: input, output: output, saved: saved, raw: raw)
        write(TerminalGuard.enterSequence)
    }

    /// For a crash handler (`CrashPosture.beforeExit`): leaves full-screen
    /// mode as `leave` does, with async-signal-safe calls only.
    public static let restoreAfterCrash: @convention(c) () -> Void = { TerminalGuard.restore() }

    /// How many times the process was stopped and continued so far.
    public var resumptions: Int32 { TerminalGuard.resumed }

    /// Back to the screen and modes the user had; safe to call twice.
    public func leave() {
        guard active else { return }
        active = false
        write(TerminalGuard.leaveSequence)
        tcsetattr(input, TCSAFLUSH, &saved)
        TerminalGuard.disarm()
    }

    /// Runs `body` on the normal screen in the user's modes (a passphrase
    /// prompt, a plugin's question), then returns to full screen.
    public func suspended<R>(_ body: () throws -> R) throws -> R {
        leave()
        defer { try? enter() }
        return try body()
    }

    /// The bytes read within `milliseconds` (-1: wait for input), or nil when
    /// the time ran out or a signal (a resize) came first.
    public func read(timeout milliseconds: Int32) throws -> [UInt8]? {
        var poll = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&poll, 1, milliseconds)
        if ready < 0 && errno == EINTR { return nil }
        guard ready >= 0 else { throw TerminalError.readFailed(errno) }
        guard ready > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Typed (and pasted) values pass through here: zeroed once copied out.
        defer { KeyDecoder.wipe(&buffer) }
        let n = Glibc.read(input, &buffer, buffer.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return nil }
        guard n > 0 else { throw n == 0 ? TerminalError.closed : TerminalError.readFailed(errno) }
        return Array(buffer[0..<n])
    }

    /// Writes all of `bytes` (a whole frame in one go, so it never tears).
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        // A terminal that went away is noticed by the next read.
        try? FileDescriptorSink(fd: output, name: "the terminal").write(bytes)
    }
}

public enum TerminalError: Error, Equatable, CustomStringConvertible {
    case notATerminal
    case closed
    case readFailed(Int32)

    public var description: String {
        switch self {
        case .notATerminal: return "standard input and output are not a terminal"
        case .closed: return "the terminal closed"
        case .readFailed(let code): return "reading the terminal failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Restores the terminal when a signal ends the program in full-screen mode,
/// with async-signal-safe calls only; and wakes the input wait on a resize.
enum TerminalGuard {
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var output: Int32 = -1
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var raw = termios()
    /// Counts resumptions after a stop (SIGTSTP, SIGCONT), for the loop to notice.
    nonisolated(unsafe) static var resumed: Int32 = 0
    /// The alternate screen, cleared, cursor hidden, no line wrap at the last
    /// column, pastes bracketed (so pasted text is never read as keys), no
    /// mouse reports.
    static let enterSequence = Array("\u{1B}[?1049h\u{1B}[H\u{1B}[2J\u{1B}[?25l\u{1B}[?7l\u{1B}[?2004h\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1003l".utf8)
    static let leaveSequence = Array("\u{1B}[H\u{1B}[2J\u{1B}[?2004l\u{1B}[?7h\u{1B}[?25h\u{1B}[?1049l".utf8)
    static let fatal = [SIGTERM, SIGHUP, SIGQUIT, SIGINT]

    static func arm(fd: Int32, output: Int32, saved: termios, raw: termios) {
        TerminalGuard.saved = saved
        TerminalGuard.raw = raw
        TerminalGuard.output = output
        TerminalGuard.fd = fd
        _ = leaveSequence.count + enterSequence.count
        for sig in fatal {
            signal(sig) { sig in
                TerminalGuard.restore()
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
        // Only to interrupt poll(), which is never restarted: the loop then reads the new size.
        signal(SIGWINCH) { _ in }
        signal(SIGTSTP) { _ in TerminalGuard.stop() }
    }

    /// Stopped from outside (`kill -TSTP`; Ctrl-Z is only a key here): the
    /// screen cleared and the user's modes back while stopped, full screen
    /// again on resuming (the loop redraws, and hides a revealed value).
    static func stop() {
        guard fd >= 0 else { return }
        leaveSequence.withUnsafeBytes { _ = Glibc.write(output, $0.baseAddress, $0.count) }
        tcsetattr(fd, TCSAFLUSH, &saved)
        signal(SIGTSTP, SIG_DFL)
        // Unblocked (a handler runs with its signal blocked), so raise stops here, now.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGTSTP)
        sigprocmask(SIG_UNBLOCK, &stopping, nil)
        raise(SIGTSTP)
        // Continued.
        tcsetattr(fd, TCSAFLUSH, &raw)
        enterSequence.withUnsafeBytes { _ = Glibc.write(output, $0.baseAddress, $0.count) }
        resumed &+= 1
        signal(SIGTSTP) { _ in TerminalGuard.stop() }
    }

    /// Async-signal-safe: the alternate screen cleared and left, the modes restored.
    static func restore() {
        guard fd >= 0 else { return }
        leaveSequence.withUnsafeBytes { _ = Glibc.write(output, $0.baseAddress, $0.count) }
        tcsetattr(fd, TCSAFLUSH, &saved)
        fd = -1
    }

    static func disarm() {
        fd = -1
        for sig in fatal + [SIGWINCH, SIGTSTP] { signal(sig, SIG_DFL) }
    }
}
