#if canImport(Glibc)
import Glibc
#endif

/// Makes everything written to one file system durable with a single call,
/// so batch writes pay one flush instead of one fsync per file.
public enum FileSystemSync {
    /// syncfs(2) is a GNU extension the Swift Glibc module does not export.
    private static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// Flushes the file system holding `path`; falls back to sync(2).
    public static func sync(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        defer { close(fd) }
        guard let syncfs else { Glibc.sync(); return }
        guard syncfs(fd) == 0 else { throw FileError.write(path: path, errno: errno) }
    }

    /// Flushes one file's data, for a file about to be renamed over one
    /// that others read (the rename must not publish an empty file).
    public static func syncFile(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError.write(path: path, errno: errno) }
    }
}
