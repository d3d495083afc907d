#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// Putting the agent in the background. Not by fork: a forked child keeps
/// none of its parent's memory locks, and Swift gives no guarantee about
/// what a fork of a runtime may leave behind. The command starts itself
/// again (`posix_spawn`) to serve in the foreground, and waits for its
/// first line — written once it listens — before returning; the server
/// then leaves the terminal's session and closes its standard streams.
public enum AgentDaemon {
    /// This program's own file, to start again.
    public static var executable: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What became of a server started in the background.
    public enum Start: Equatable {
        /// Serving; its pid and the line it reported.
        case serving(pid: Int32, line: String)
        /// It ended before serving (its errors went to our stderr), with this exit status.
        case failed(status: Int32)
    }

    /// Starts `argv` (argv[0] absolute) with `input` on its stdin (nil:
    /// /dev/null) and our stderr, and waits until it reports a line or ends.
    /// It may first ask for a passphrase on the terminal, so the wait is long.
    public static func start(_ argv: [String], input: SecureBytes?) throws -> Start {
        let child = try ChildProcess.spawn(argv, input: input != nil, output: true, showingErrors: true)
        if let input {
            input.withUnsafeBytes { bytes in
                var at = 0
                while at < bytes.count {
                    let n = write(child.stdin, bytes.baseAddress! + at, bytes.count - at)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { break }
                    at += n
                }
            }
            close(child.stdin)
        }
        let output = ChildProcess.readAll(child.stdout, limit: 4096, until: Monotonic.seconds() + 3600)
        close(child.stdout)
        let line = output.map { $0.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } } ?? ""
        if !line.isEmpty { return .serving(pid: child.pid, line: line) }
        if output == nil { kill(child.pid, SIGTERM) }
        return .failed(status: ChildProcess.wait(child.pid, until: Monotonic.seconds() + 10))
    }

    /// In the server started by `start`, once it listens: reports `line` to
    /// the starter, then leaves its session (no controlling terminal, no
    /// hangup when the terminal closes) with stdin, stdout and stderr on
    /// /dev/null, in `/` (holding no directory busy, and writing nowhere a
    /// user works).
    public static func detach(reporting line: String) {
        var text = line
        text.withUTF8 { bytes in
            var at = 0
            while at < bytes.count {
                let n = write(STDOUT_FILENO, bytes.baseAddress! + at, bytes.count - at)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                at += n
            }
        }
        _ = setsid()
        _ = chdir("/")
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(null, fd) }
            if null > STDERR_FILENO { close(null) }
        }
    }
}
