#if canImport(Glibc)
import Glibc
#endif
import Age

/// Helper programs started with `posix_spawn`, no shell: the clipboard
/// tools and coffer-yaml (the CLI's `Subprocess`), `git credential` and
/// ssh-keygen (a transfer's `HelperProcess`). What they answer travels
/// through pipes into a wiped buffer. A child gets no descriptor of ours
/// but its pipes (a clipboard tool forks to keep serving the selection, and
/// a copy of our stdout in that daemon would keep a caller's `$(coffer …)`
/// waiting for ever), default signal dispositions, and only the signals
/// asked for blocked.
public enum ChildProcess {
    /// A started child and our ends of its pipes (-1 where it has none).
    public struct Child: Sendable {
        public let pid: pid_t
        public let stdin: Int32
        public let stdout: Int32
        /// Our end of its stderr pipe when `capturingErrors`, else -1.
        public var stderr: Int32 = -1
    }

    /// `posix_spawn` failed, or a pipe could not be made.
    public struct CannotRun: Error, Sendable {
        public let program: String
        public let errno: Int32
        public var reason: String { String(cString: strerror(errno)) }
    }

    /// Starts `argv` (argv[0] an absolute path), its stdin and stdout pipes
    /// when asked, else /dev/null; stderr a pipe when `capturingErrors`,
    /// ours when `showingErrors`, else /dev/null; in a session of its own
    /// when `detached`; with `blocked` signals blocked and no other; with
    /// `environment` (`NAME=VALUE` entries), else ours.
    public static func spawn(_ argv: [String], input: Bool, output: Bool, showingErrors: Bool = false, capturingErrors: Bool = false,
                             detached: Bool = false, blocked: [Int32] = [], environment: [String]? = nil) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child's default signal dispositions, whatever ours are (SIGPIPE is ignored here).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in blocked { sigaddset(&mask, signal) }
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (detached ? spawnSetSID : 0)))

        var ours: [Int32] = []
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1]
        if input {
            guard pipe(&stdinPipe) == 0 else { throw CannotRun(program: argv[0], errno: errno) }
            ours.append(stdinPipe[1])
            posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        if output {
            guard pipe(&stdoutPipe) == 0 else {
                let code = errno
                for fd in stdinPipe where fd >= 0 { close(fd) }
                throw CannotRun(program: argv[0], errno: code)
            }
            ours.append(stdoutPipe[0])
            posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
        }
        var stderrPipe: [Int32] = [-1, -1]
        if capturingErrors {
            guard pipe(&stderrPipe) == 0 else {
                let code = errno
                for fd in stdinPipe + stdoutPipe where fd >= 0 { close(fd) }
                throw CannotRun(program: argv[0], errno: code)
            }
            ours.append(stderrPipe[0])
            posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], STDERR_FILENO)
        } else if !showingErrors {
            posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
        }
        closeOnExec()

        var pid: pid_t = 0
        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { (cArgv + (cEnvironment ?? [])).forEach { free($0) } }
        let rc = cEnvironment.map { env in posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, env) }
            ?? posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, environ)
        for fd in [stdinPipe[0], stdoutPipe[1], stderrPipe[1]] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            ours.forEach { close($0) }
            throw CannotRun(program: argv[0], errno: rc)
        }
        return Child(pid: pid, stdin: input ? stdinPipe[1] : -1, stdout: output ? stdoutPipe[0] : -1, stderr: stderrPipe[0])
    }

    /// Reads `fd` to its end within the deadline; nil past it or past `limit` bytes.
    public static func readAll(_ fd: Int32, limit: Int, until deadline: Double) -> SecureBytes? {
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
                let bigger = SecureBytes(count: min(data.count * 2, limit + 1))
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
    public static func wait(_ pid: pid_t, until deadline: Double) -> Int32 {
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

    /// Marks every descriptor above stderr close-on-exec, the pipes' too
    /// (the child's ends reach it as 0 and 1, through dup2). glibc's
    /// `posix_spawn_file_actions_addclosefrom_np` would say it in one line,
    /// but Swift's Glibc module hides it (and `pipe2`) behind _GNU_SOURCE.
    private static func closeOnExec() {
        guard let directory = opendir("/proc/self/fd") else { return }
        var open: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd > STDERR_FILENO, fd != dirfd(directory) { open.append(fd) }
        }
        closedir(directory)
        for fd in open { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
    }

    /// glibc's POSIX_SPAWN_SETSID (spawn.h, behind _GNU_SOURCE, which Swift's Glibc module does not set).
    private static let spawnSetSID: Int32 = 0x80
}
