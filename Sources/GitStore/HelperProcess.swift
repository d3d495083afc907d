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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0 else { throw failure(argv[0], errno) }
        guard pipe(&fromChild) == 0 else {
            toChild.forEach { close($0) }
            throw failure(argv[0], errno)
        }
        // Ours must not leak into the child (nor into a daemon it starts).
        for fd in [toChild[1], fromChild[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, toChild[0])
        posix_spawn_file_actions_addclose(&actions, fromChild[1])

        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = mergedEnvironment(environment).map { strdup($0) } + [nil]
        defer { (cArgv + cEnvironment).forEach { Glibc.free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, cEnvironment)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw failure(argv[0], rc)
        }
        let deadline = Monotonic.seconds() + timeout
        signal(SIGPIPE, SIG_IGN)
        if let input {
            // A helper that exits without reading makes this fail; its status says why.
            _ = input.withUnsafeBytes { writeAll(toChild[1], $0) }
        }
        close(toChild[1])
        let output = readAll(fromChild[0], limit: limit, until: deadline)
        close(fromChild[0])
        let status = wait(pid, until: deadline)
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

    private static func mergedEnvironment(_ overrides: [String: String]) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if overrides[name] == nil { result.append(text) }
            index += 1
        }
        return result + overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
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

    /// Reads `fd` to its end; nil past the deadline or past `limit` bytes.
    private static func readAll(_ fd: Int32, limit: Int, until deadline: Double) -> SecureBytes? {
        var data = SecureBytes(count: 4096)
        var filled = 0
        while true {
            let left = deadline - Monotonic.seconds()
            guard left > 0 else { return nil }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, Int32(min(left, 3600) * 1000) + 1)
            if polled < 0 && errno == EINTR { continue }
            guard polled >= 0 else { return nil }
            if ready.revents == 0 { continue }
            if filled == data.count {
                guard data.count <= limit else { return nil }
                let bigger = SecureBytes(count: data.count * 2)
                bigger.withUnsafeMutableBytes { b in data.withUnsafeBytes { b.copyMemory(from: $0) } }
                data = bigger
            }
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            filled += n
        }
        guard filled <= limit else { return nil }
        data.truncate(to: filled)
        return data
    }

    /// The child's exit status, or -1 when a signal ended it or the deadline
    /// passed (then it is killed and reaped).
    private static func wait(_ pid: pid_t, until deadline: Double) -> Int32 {
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return status & 0x7F == 0 ? (status >> 8) & 0xFF : -1 }
            if done < 0 && errno != EINTR { return -1 }
            if Monotonic.seconds() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return -1
            }
            usleep(2_000)
        }
    }

    private static func failure(_ program: String, _ code: Int32) -> GitError {
        .helperFailed(program: program, reason: String(cString: strerror(code)))
    }
}
