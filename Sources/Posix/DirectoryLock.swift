#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a lock file, held for the life of the value. The
/// kernel drops it when the holder dies (even by `kill -9`), so a crash
/// never leaves it taken.
public final class DirectoryLock {
    private let fd: Int32

    /// Waits up to `timeout` seconds, then throws `FileError.busy`.
    /// `path` is a lock file, created if need be — or, with `isDirectory`,
    /// an existing directory locked as it is, which leaves no file behind.
    public init(path: String, timeout: Double, isDirectory: Bool = false) throws {
        fd = isDirectory ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw FileError.open(path: path, errno: errno)
            }
            guard waited < timeout else {
                close(fd)
                throw FileError.busy(path: path, waitedSeconds: Int(timeout))
            }
            usleep(5_000)
            waited += 0.005
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
