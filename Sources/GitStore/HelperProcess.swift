#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The programs a transfer runs (ssh-keygen over known_hosts, `git
/// credential`), started with `posix_spawn`, no shell. What they answer
/// travels through pipes into a wiped buffer, since a credential helper's
/// answer holds a password; their stderr is discarded so no helper output
/// reaches a log. A helper that does not answer in time is killed.
enum HelperProcess {
    struct Outcome {
        /// The exit status; -1 when killed by a signal or past the deadline.
        let status: Int32
        let output: SecureBytes
    }

    /// Runs `argv` (argv[0] absolute) to its end with `input` on its stdin,
    /// this process's environment with `environment` overriding, and returns
    /// its stdout (at most `limit` bytes; more is a failure).
    static func run(_ argv: [String], input: SecureBytes? = nil, environment: [String: String] = [:],
                    limit: Int = 1 << 20, timeout: Double) throws -> Outcome {
        signal(SIGPIPE, SIG_IGN)
        let child: ChildProcess.Child
        do {
            child = try ChildProcess.spawn(argv, input: true, output: true, environment: ProcessEnvironment.entries(overriding: environment))
        } catch let failure as ChildProcess.CannotRun {
            throw GitError.helperFailed(program: failure.program, reason: failure.reason)
        }
        let deadline = Monotonic.seconds() + timeout
        if let input {
            // A helper that exits without reading makes this fail; its status says why.
            _ = input.withUnsafeBytes { writeAll(child.stdin, $0) }
        }
        close(child.stdin)
        let output = ChildProcess.readAll(child.stdout, limit: limit, until: deadline)
        close(child.stdout)
        let status = ChildProcess.wait(child.pid, until: deadline)
        guard let output else { return Outcome(status: -1, output: SecureBytes(count: 0)) }
        return Outcome(status: status, output: output)
    }

    /// The executable `name` in `searchPath`'s directories, if any.
    static func locate(_ name: String, searchPath: String) -> String? {
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }


    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
