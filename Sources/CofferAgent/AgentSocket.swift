#if canImport(Glibc)
import Glibc
#endif
import Age
import CLinux
import Posix

/// The agent's Unix socket and the rules for trusting it. What guards it is
/// its directory: one of this user's, mode 0700, so no one else can connect,
/// replace the socket or listen in its place. Both sides check that before
/// use (the agent before it binds, a client before it connects), and a
/// client talks only to a socket of its own user there.
public enum AgentSocket {
    /// The directory holding `path`, checked: a directory (not a link) of
    /// this user that group and others cannot enter.
    public static func checkDirectory(of path: String) throws {
        let directory = parent(of: path)
        var info = stat()
        guard lstat(directory, &info) == 0 else { throw AgentError.system(call: "lstat", path: directory, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            throw AgentError.directoryNotPrivate(path: directory, owner: info.st_uid, mode: info.st_mode)
        }
    }

    /// Connects to the agent at `path`, or nil when none listens there: no
    /// file, or a socket of ours nothing answers (a killed agent's, which is
    /// removed). Anything else at that path, or an untrustworthy directory,
    /// is refused, never silently passed over.
    public static func connect(to path: String) throws -> Int32? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        try checkDirectory(of: path)
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw AgentError.notASocket(path: path) }
        guard info.st_uid == geteuid() else { throw AgentError.socketNotOwned(path: path, owner: info.st_uid) }
        let fd = try socket(path)
        switch connect(fd, path) {
        case 0:
            return fd
        case ECONNREFUSED:
            close(fd)
            // The directory is ours alone: the file we checked is the one we remove.
            unlink(path)
            return nil
        case ENOENT:
            close(fd)
            return nil
        case let code:
            close(fd)
            throw AgentError.system(call: "connect", path: path, errno: code)
        }
    }

    /// Binds and listens at `path`, mode 0600, creating its directory (0700)
    /// if need be. Refused when the directory is not private, when something
    /// else is at `path`, or when an agent already answers there (`probe`
    /// asks it its pid); a dead agent's socket is replaced.
    static func listen(at path: String, probe: (Int32) -> Int32?) throws -> (fd: Int32, inode: ino_t) {
        let directory = parent(of: path)
        if access(directory, F_OK) != 0 {
            do {
                try Files.makeDirectories(directory, mode: 0o700)
            } catch FileError.write(let path, let code) {
                throw AgentError.system(call: "mkdir", path: path, errno: code)
            }
        }
        if let existing = try connect(to: path) {
            let pid = probe(existing) ?? 0
            close(existing)
            throw AgentError.alreadyRunning(path: path, pid: pid)
        }
        try checkDirectory(of: path)
        let fd = try socket(path)
        let previous = umask(0o177)
        let bound = UnixSocketAddress.with(path) { Glibc.bind(fd, $0, $1) }
        let code = errno
        umask(previous)
        guard bound == 0 else {
            close(fd)
            throw AgentError.system(call: "bind", path: path, errno: code)
        }
        var info = stat()
        guard chmod(path, 0o600) == 0, lstat(path, &info) == 0, Glibc.listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw AgentError.system(call: "listen", path: path, errno: code)
        }
        return (fd, info.st_ino)
    }

    /// The uid and pid of the process at the other end of `fd`, as the kernel recorded them at connect.
    static func peer(of fd: Int32) -> (uid: uid_t, pid: pid_t)? {
        var credentials = coffer_peer_credentials()
        guard coffer_get_peer_credentials(fd, &credentials) == 0 else { return nil }
        return (credentials.uid, credentials.pid)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func socket(_ path: String) throws -> Int32 {
        guard UnixSocketAddress.fits(path) else { throw AgentError.pathTooLong(path: path) }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AgentError.system(call: "socket", path: path, errno: errno) }
        return fd
    }

    /// 0, or the errno of a failed connect.
    private static func connect(_ fd: Int32, _ path: String) -> Int32 {
        while true {
            if UnixSocketAddress.with(path, { Glibc.connect(fd, $0, $1) }) == 0 { return 0 }
            if errno != EINTR { return errno }
        }
    }
}

/// Whole frames over a connected socket, blocking (bounded by the socket's
/// timeouts). A frame arrives into a wiped buffer: it may hold file keys.
enum FrameIO {
    static func send(_ frame: SecureBytes, on fd: Int32) -> Bool {
        frame.withUnsafeBytes { bytes in
            var at = 0
            while at < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + at, bytes.count - at, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                at += n
            }
            return true
        }
    }

    /// The next frame's body; nil when the other end closed (or reset) the
    /// connection before sending a byte of it.
    static func receive(on fd: Int32) throws -> SecureBytes? {
        var header = [UInt8](repeating: 0, count: 4)
        let (got, code) = header.withUnsafeMutableBytes { readFully(fd, $0) }
        if got == 0 && (code == 0 || code == ECONNRESET) { return nil }
        if got < 4 && code != 0 { throw AgentError.system(call: "recv", path: "from the agent's socket", errno: code) }
        guard got == 4 else { throw AgentError.protocolViolation("the connection ended inside a frame") }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length >= 2, length <= AgentProtocol.maxFrame + 4096 else { throw AgentError.protocolViolation("a frame of \(length) bytes") }
        let body = SecureBytes(count: length)
        guard body.withUnsafeMutableBytes({ readFully(fd, $0) }).count == length else {
            throw AgentError.protocolViolation("the connection ended inside a frame")
        }
        return body
    }

    /// Reads until `buffer` is full or the stream ends: the count, and the errno that stopped it early (0: none).
    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> (count: Int, errno: Int32) {
        var at = 0
        while at < buffer.count {
            let n = recv(fd, buffer.baseAddress! + at, buffer.count - at, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return (at, errno) }
            if n == 0 { break }
            at += n
        }
        return (at, 0)
    }

    /// Splits a received body into its version, kind and fields; refuses another protocol version.
    static func open(_ body: SecureBytes) throws -> (kind: UInt8, version: UInt8) {
        try body.withUnsafeBytes { bytes in
            guard bytes[0] == AgentProtocol.version else { throw AgentError.unsupportedVersion(bytes[0]) }
            return (bytes[1], bytes[0])
        }
    }
}
