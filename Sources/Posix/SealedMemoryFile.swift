#if canImport(Glibc)
import Glibc
#endif
import Age
import CLinux

/// A secret handed to another program as a file that exists only in memory
/// (`memfd_create`): never on a disk, in no directory, gone when the last
/// process holding it exits. Mode 0400 and sealed against writing, growing
/// and shrinking, so the program reads exactly the value and a key-file
/// reader that refuses group- or world-readable files accepts it.
public enum SealedMemoryFile {
    /// A descriptor of a new sealed file holding `contents`, numbered 3 or
    /// above (never standard input, output or error) and left open across
    /// `execve`, positioned at the start. `name` labels it in /proc (it is
    /// not secret). Errors carry errno, never the contents.
    public static func make(name: String, contents: SecureBytes) throws -> Int32 {
        let label = "memory file for \(name)"
        // Close-on-exec until it is complete: a half-made file reaches no program.
        let fd = memfd_create("coffer:" + name, UInt32(MFD_CLOEXEC | MFD_ALLOW_SEALING))
        guard fd >= 0 else { throw FileError.open(path: label, errno: errno) }
        defer { close(fd) }
        try contents.withUnsafeBytes { bytes in
            var at = 0
            while at < bytes.count {
                let n = write(fd, bytes.baseAddress! + at, bytes.count - at)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw FileError.write(path: label, errno: errno) }
                at += n
            }
        }
        guard fchmod(fd, 0o400) == 0,
              fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0,
              lseek(fd, 0, SEEK_SET) == 0 else {
            throw FileError.write(path: label, errno: errno)
        }
        // F_DUPFD leaves close-on-exec off on the copy.
        let inherited = fcntl(fd, F_DUPFD, 3)
        guard inherited >= 0 else { throw FileError.open(path: label, errno: errno) }
        return inherited
    }

    /// The path a program opens to read descriptor `fd`'s file.
    public static func path(of fd: Int32) -> String { "/dev/fd/\(fd)" }
}
