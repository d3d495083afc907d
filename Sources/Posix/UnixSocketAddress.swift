#if canImport(Glibc)
import Glibc
#endif

/// A Unix socket's `sockaddr_un`, for `bind` and `connect`.
public enum UnixSocketAddress {
    /// True when `path` fits `sun_path` with its terminating NUL.
    public static func fits(_ path: String) -> Bool {
        path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path)
    }

    /// Calls `body` with the address of the socket at `path` (which must `fit`).
    public static func with<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        precondition(fits(path), "a Unix socket path longer than sun_path")
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// True when something accepts connections on the socket at `path`.
    public static func isListening(_ path: String) -> Bool {
        var info = stat()
        guard fits(path), lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return with(path) { connect(fd, $0, $1) } == 0
    }
}
