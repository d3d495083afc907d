#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Age

/// Errors from the file system, carrying the path and errno, never contents.
public enum FileError: Error, Equatable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(path: String, errno: Int32)
    case write(path: String, errno: Int32)
    case exists(path: String)

    public var description: String {
        switch self {
        case .open(let p, let e): return "cannot open \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .read(let p, let e): return "cannot read \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .write(let p, let e): return "cannot write \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .exists(let p): return "\(FileError.shown(p)) already exists; refusing to overwrite it"
        }
    }

    /// A path as shown in errors: a private key pasted where a file name
    /// belongs (`-i AGE-SECRET-KEY-1…`) must not be echoed back.
    static func shown(_ path: String) -> String {
        path.uppercased().contains("SECRET-KEY") ? "<a path that looks like a secret key>" : path
    }
}

/// A byte source over a file descriptor, retrying interrupted reads.
public final class FileDescriptorSource: ByteSource {
    public let fd: Int32
    private let name: String
    private let owned: Bool

    public init(fd: Int32, name: String, owned: Bool = false) {
        self.fd = fd
        self.name = name
        self.owned = owned
    }

    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        self.init(fd: fd, name: path, owned: true)
    }

    deinit { if owned { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw FileError.read(path: name, errno: errno) }
        }
    }
}

/// A byte sink over a file descriptor, retrying short and interrupted writes.
public final class FileDescriptorSink: ByteSink {
    public let fd: Int32
    private let name: String
    private let owned: Bool

    public init(fd: Int32, name: String, owned: Bool = false) {
        self.fd = fd
        self.name = name
        self.owned = owned
    }

    /// Creates or truncates `path` with `mode` (before umask); with `exclusive`
    /// an existing file is an error instead.
    public convenience init(path: String, mode: mode_t = 0o644, exclusive: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        let fd = open(path, flags, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw FileError.exists(path: path) }
            throw FileError.open(path: path, errno: errno)
        }
        self.init(fd: fd, name: path, owned: true)
    }

    deinit { if owned { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.write(path: name, errno: errno)
            }
            offset += n
        }
    }

}

extension ByteSink {
    public func write(_ text: String) throws {
        try Array(text.utf8).withUnsafeBytes { try write($0) }
    }
}

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
    public init(path: String, mode: mode_t = 0o600, durable: Bool = true) throws {
        self.path = path
        self.durable = durable
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
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

public enum Files {
    /// The whole file, for small inputs such as key files.
    public static func read(path: String) throws -> [UInt8] {
        let source = try FileDescriptorSource(path: path)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    /// Like `read`, into a wiped buffer: for files that hold secrets.
    public static func readSecret(path: String) throws -> SecureBytes {
        let source = try FileDescriptorSource(path: path)
        var data = SecureBytes(count: 4096)
        var filled = 0
        while true {
            if filled == data.count {
                let bigger = SecureBytes(count: data.count * 2)
                bigger.withUnsafeMutableBytes { b in data.withUnsafeBytes { b.copyMemory(from: $0) } }
                data = bigger
            }
            let n = try data.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if n == 0 { break }
            filled += n
        }
        data.truncate(to: filled)
        return data
    }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// `mkdir -p` with `mode` for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST { throw FileError.write(path: current, errno: errno) }
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

/// Writes a sealed file into the work tree (not durably: the caller syncs
/// the file system once for all of them).
///
/// An existing plain file is overwritten in place: a new inode per file is
/// what makes re-keying thousands of files slow on ext4. That is safe here
/// because the commit has landed before the work tree is touched and the
/// journal redoes these writes after a crash; a reader that meets a file
/// half-written fails authentication and waits for the writer (`Vault.open`).
/// New files, links and files with other names (hard links) get an atomic
/// replacement instead.
enum WorkTreeFile {
    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
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
        let file = try AtomicFileSink(path: path, mode: 0o644, durable: false)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}
