#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The helper programs the CLI runs (the clipboard tools, coffer itself as
/// the clipboard's restorer, coffer-yaml), through `ChildProcess`. Values
/// travel only through pipes, never argv or the environment.
enum Subprocess {
    typealias Child = ChildProcess.Child

    /// Starts `argv` (see `ChildProcess.spawn`); coffer's own helpers speak
    /// in coffer's voice (`showingErrors`). A failure to start is coffer's error.
    static func spawn(_ argv: [String], input: Bool, output: Bool, showingErrors: Bool = false, detached: Bool = false,
                      blocked: [Int32] = [], environment: [String]? = nil) throws -> Child {
        do {
            return try ChildProcess.spawn(argv, input: input, output: output, showingErrors: showingErrors, detached: detached,
                                          blocked: blocked, environment: environment)
        } catch let failure as ChildProcess.CannotRun {
            throw CommandFailure("cannot run \(failure.program): \(failure.reason)")
        }
    }

    /// Runs `argv` to its end: `input` on its stdin, its stdout read (at
    /// most `limit` bytes) when `capture`. Killed once `timeout` seconds have
    /// passed: a clipboard owner that never answers must not hang coffer.
    /// Nil output when it failed, timed out or said more than `limit`.
    static func run(_ argv: [String], input: UnsafeRawBufferPointer? = nil, capture: Bool = false,
                    limit: Int = 0, timeout: Double, environment: [String]? = nil,
                    detached: Bool = false) throws -> (succeeded: Bool, output: SecureBytes?) {
        signal(SIGPIPE, SIG_IGN)
        let child = try spawn(argv, input: input != nil, output: capture, detached: detached, environment: environment)
        let deadline = Monotonic.seconds() + timeout
        if let input {
            // A tool that dies early makes this write fail; its exit status says so.
            _ = try? FileDescriptorSink(fd: child.stdin, name: argv[0]).write(input)
            close(child.stdin)
        }
        var output: SecureBytes?
        if capture {
            output = ChildProcess.readAll(child.stdout, limit: limit, until: deadline)
            close(child.stdout)
        }
        let succeeded = ChildProcess.wait(child.pid, until: deadline) == 0
        return (succeeded, succeeded ? output : nil)
    }
}
