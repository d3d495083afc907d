#if canImport(Glibc)
import Glibc
#endif
import Age
import Logging
import Posix

/// The server's log on standard error: one line per request at info (method,
/// route, status, milliseconds, token name), coffer's warnings, and start and
/// stop. A line holds ids, token names and coffer's own words, never a value,
/// a token or a reveal link (its path is logged as `/v1/reveal/…`). The
/// framework's own logger is held at error, whatever the level: the level
/// only adds coffer's debug lines, which are made the same way.
struct ServerLog: Sendable {
    let level: Logger.Level

    init(level: Logger.Level) {
        self.level = level
    }

    /// Hummingbird's and SwiftNIO's logger: errors only.
    var framework: Logger {
        var logger = Logger(label: "coffer-serve")
        logger.logLevel = .error
        return logger
    }

    func always(_ line: String) { write(line) }
    func warning(_ line: String) { if level <= .warning { write("coffer serve: warning: " + line) } }
    func info(_ line: String) { if level <= .info { write(line) } }
    func debug(_ line: String) { if level <= .debug { write("debug: " + line) } }

    /// Why the server did not start or stopped, as every coffer command says it.
    static func error(_ message: String, hint: String?) {
        write("coffer: error: " + message)
        if let hint { write("coffer: hint: " + hint) }
    }

    /// One write per line, so lines from two requests never interleave.
    private func write(_ line: String) { ServerLog.write(line) }

    private static func write(_ line: String) {
        // Control characters (from a path, a token name) are escaped: a request cannot forge lines.
        let text = UntrustedText.escaped(line) + "\n"
        _ = try? FileDescriptorSink(fd: STDERR_FILENO, name: "standard error").write(text)
    }
}
