#if canImport(Glibc)
import Glibc
#endif
import Age

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

