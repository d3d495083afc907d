#if canImport(Glibc)
import Glibc
#endif

/// Serialises coffer processes writing one vault: an exclusive `flock` on
/// `.git/coffer.lock`. The kernel drops it when the holder dies (even by
/// `kill -9`), so a crash never leaves the vault locked.
final class VaultLock {
    private let fd: Int32

    /// Waits up to `timeout` seconds (COFFER_LOCK_TIMEOUT overrides; default 10).
    init(gitDirectory: String, timeout: Double? = nil) throws {
        let path = gitDirectory + "/coffer.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        let limit = timeout ?? Environment.value("COFFER_LOCK_TIMEOUT").flatMap(Double.init) ?? 10
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw FileError.open(path: path, errno: errno)
            }
            guard waited < limit else {
                close(fd)
                throw VaultError.locked(waitedSeconds: Int(limit))
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
