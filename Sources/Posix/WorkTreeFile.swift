#if canImport(Glibc)
import Glibc
#endif
import Age

/// Writes a sealed file into the work tree (not durably: the caller syncs
/// the file system once for all of them).
///
/// An existing plain file is overwritten in place: a new inode per file is
/// what makes re-keying thousands of files slow on ext4. That is safe here
/// because the commit has landed before the work tree is touched and the
/// journal redoes these writes after a crash; a reader that meets a file
/// half-written fails authentication and waits for the writer (`Vault.open`).
/// New files and files with other names (hard links) get an atomic
/// replacement instead. Anything else in the way (a link, a directory, a
/// FIFO, socket or device) is refused, never opened or written through.
public enum WorkTreeFile {
    public static func write(_ path: String, _ bytes: [UInt8]) throws {
        // Non-blocking: a FIFO that appeared since the commit is not waited on.
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd >= 0 {
            var info = stat()
            if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 {
                defer { close(fd) }
                let sink = FileDescriptorSink(fd: fd, name: path, owned: false)
                try bytes.withUnsafeBytes { try sink.write($0) }
                guard ftruncate(fd, off_t(bytes.count)) == 0 else { throw FileError.write(path: path, errno: errno) }
                return
            }
            close(fd)
        }
        let file = try AtomicFileSink(path: path, mode: 0o644, durable: false, writingThrough: false)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}
