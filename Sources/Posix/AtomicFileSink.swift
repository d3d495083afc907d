#if canImport(Glibc)
import Glibc
#endif
import Age

/// A file that appears at `path` only when `commit()` is called: data goes to
/// a 0600 temporary file in the same directory, renamed over `path` at the end.
/// Until then an existing file at `path` is untouched, and on failure the
/// temporary file is removed, so a failed decryption never destroys or
/// half-replaces what was there. Targets that exist but are not plain regular
/// files — symlinks such as `/dev/stdout`, devices, FIFOs — are written through
/// directly and never replaced: renaming over them would destroy the link.
public final class AtomicFileSink: ByteSink {
    public let path: String
    private var temporaryPath: String?
    private var directory = "."
    private var isUnnamed = false
    private let durable: Bool
    private let sink: FileDescriptorSink
    private var committed = false

    /// - Parameters:
    ///   - mode: the file's mode (0600 unless given; mkstemp's default).
    ///   - durable: fsync the file and its directory at commit; batch writers
    ///     pass false and sync the file system once at the end instead.
    ///   - writingThrough: whether a target that is not a regular file is
    ///     written through; if false it is refused (`FileError.notRegular`)
    ///     and never opened, as a file inside a vault must be.
    public init(path: String, mode: mode_t = 0o600, durable: Bool = true, writingThrough: Bool = true) throws {
        self.path = path
        self.durable = durable
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            guard writingThrough else { throw FileError.notRegular(path: path) }
            temporaryPath = nil
            sink = try FileDescriptorSink(path: path, mode: mode)
            // Written through a symlink to a regular file: that file gets our mode too.
            var target = stat()
            if fstat(sink.fd, &target) == 0 && (target.st_mode & S_IFMT) == S_IFREG { fchmod(sink.fd, mode) }
            return
        }
        directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        if directory.isEmpty { directory = "/" }
        // An unnamed O_TMPFILE vanishes by itself if the process dies before
        // commit (kill, Ctrl-C), so no plaintext is left behind; file systems
        // without it get a named 0600 temporary that deinit removes.
        let unnamed = open(directory, AtomicFileSink.oTmpFile | O_WRONLY | O_CLOEXEC, mode)
        if unnamed >= 0 {
            temporaryPath = nil
            sink = FileDescriptorSink(fd: unnamed, name: path, owned: true)
            isUnnamed = true
            return
        }
        var template = (directory + "/.coffer-tmp-XXXXXX").utf8CString.map { $0 }
        let fd = mkstemp(&template)  // mkstemp creates the file 0600
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        if mode != 0o600 { fchmod(fd, mode) }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        sink = FileDescriptorSink(fd: fd, name: path, owned: true)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws { try sink.write(bytes) }

    /// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY, the same value on x86-64
    /// and arm64); the C macro is not imported into Swift.
    static let oTmpFile: Int32 = 0o20_200_000

    /// Flushes to disk and moves the file into place.
    public func commit() throws {
        committed = true
        guard !durable || fsync(sink.fd) == 0 else { throw FileError.write(path: path, errno: errno) }
        if isUnnamed {
            // Give the unnamed file a temporary name, then rename it over the target.
            let named = directory + "/.coffer-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            guard linkat(AT_FDCWD, "/proc/self/fd/\(sink.fd)", AT_FDCWD, named, AT_SYMLINK_FOLLOW) == 0 else {
                throw FileError.write(path: path, errno: errno)
            }
            temporaryPath = named
        }
        guard let temporaryPath else { return }
        guard rename(temporaryPath, path) == 0 else {
            let error = FileError.write(path: path, errno: errno)
            unlink(temporaryPath)
            throw error
        }
        // The rename is durable only once the directory is synced.
        guard durable else { return }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    deinit { if !committed, let temporaryPath { unlink(temporaryPath) } }
}

