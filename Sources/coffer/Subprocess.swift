#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The helper programs coffer runs (the clipboard tools, coffer itself as
/// the clipboard's restorer, coffer-yaml), started with `posix_spawn`. Values travel only
/// through pipes, never argv or the environment. A child gets no descriptor
/// of ours but its pipes: a clipboard tool forks to keep serving the
/// selection, and a copy of our standard output in that daemon would keep a
/// caller's `$(coffer …)` waiting for ever.
enum Subprocess {
    /// A started child and our ends of its pipes (-1 where it has none).
    struct Child {
        let pid: pid_t
        let stdin: Int32
        let stdout: Int32
    }

    /// Starts `argv` (argv[0] an absolute path), its stdin and stdout pipes
    /// when asked, else /dev/null, stderr ours when `showingErrors` (coffer's
    /// own helpers speak in coffer's voice), else /dev/null; in a session of its own
    /// when `detached`, so no terminal hangup or job control reaches it. It
    /// starts with `blocked` signals blocked and no other, whatever our mask:
    /// a signal it waits for can then never reach it before it waits.
    static func spawn(_ argv: [String], input: Bool, output: Bool, showingErrors: Bool = false, detached: Bool = false,
                      blocked: [Int32] = []) throws -> Child {
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
            guard pipe(&stdinPipe) == 0 else { throw failure(argv, errno) }
            ours.append(stdinPipe[1])
            posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        if output {
            guard pipe(&stdoutPipe) == 0 else {
                for fd in stdinPipe where fd >= 0 { close(fd) }
                throw failure(argv, errno)
            }
            ours.append(stdoutPipe[0])
            posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
        }
        if !showingErrors { posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0) }
        closeOnExec()

        var pid: pid_t = 0
        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, environ)
        for fd in [stdinPipe[0], stdoutPipe[1]] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            ours.forEach { close($0) }
            throw failure(argv, rc)
        }
        return Child(pid: pid, stdin: input ? stdinPipe[1] : -1, stdout: output ? stdoutPipe[0] : -1)
    }

    /// Runs `argv` to its end: `input` on its stdin, its stdout read (at
    /// most `limit` bytes) when `capture`. Killed once `timeout` seconds have
    /// passed: a clipboard owner that never answers must not hang coffer.
    /// Nil output when it failed, timed out or said more than `limit`.
    static func run(_ argv: [String], input: UnsafeRawBufferPointer? = nil, capture: Bool = false,
                    limit: Int = 0, timeout: Double) throws -> (succeeded: Bool, output: SecureBytes?) {
        signal(SIGPIPE, SIG_IGN)
        let child = try spawn(argv, input: input != nil, output: capture)
        let deadline = Monotonic.seconds() + timeout
        if let input {
            // A tool that dies early makes this write fail; its exit status says so.
            _ = try? FileDescriptorSink(fd: child.stdin, name: argv[0]).write(input)
            close(child.stdin)
        }
        var output: SecureBytes?
        if capture {
            output = read(child.stdout, limit: limit, until: deadline)
            close(child.stdout)
        }
        let succeeded = wait(child.pid, until: deadline)
        return (succeeded, succeeded ? output : nil)
    }

    /// Reads `fd` to its end within the deadline; nil past it or past `limit`.
    private static func read(_ fd: Int32, limit: Int, until deadline: Double) -> SecureBytes? {
        var data = SecureBytes(count: 4096)
        var filled = 0
        while true {
            let left = deadline - Monotonic.seconds()
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&ready, 1, Int32(left * 1000) + 1) >= 0 || errno == EINTR else { return nil }
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

    /// True when the child exited with status 0 before the deadline; a child
    /// still running then is killed (and reaped).
    private static func wait(_ pid: pid_t, until deadline: Double) -> Bool {
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return status & 0x7F == 0 && (status >> 8) & 0xFF == 0 }
            if done < 0 && errno != EINTR { return false }
            if Monotonic.seconds() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return false
            }
            usleep(5_000)
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

    private static func failure(_ argv: [String], _ code: Int32) -> CommandFailure {
        CommandFailure("cannot run \(argv[0]): \(String(cString: strerror(code)))")
    }

    /// glibc's POSIX_SPAWN_SETSID (spawn.h, behind _GNU_SOURCE, which Swift's Glibc module does not set).
    private static let spawnSetSID: Int32 = 0x80
}
