#if canImport(Glibc)
import Glibc
#endif
import Age

/// Small whole-file reads and directory helpers.
public enum Files {
    /// The whole file, for small inputs such as key files.
    public static func read(path: String) throws -> [UInt8] {
        let source = try FileDescriptorSource(path: path)
        var info = stat()
        let size = fstat(source.fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) : 0
        return try readAll(source, path: path, size: size, limit: .max)
    }

    /// A regular file of at most `limit` bytes, read whole. Never blocks on
    /// a FIFO or device (opened non-blocking, its type checked before any
    /// read) and never reads a larger file into memory: the size is checked
    /// first, and reading stops past `limit` should the file grow meanwhile.
    public static func readRegularFile(path: String, limit: Int) throws -> [UInt8] {
        let (source, size) = try openRegularFile(path: path, limit: limit)
        return try readAll(source, path: path, size: size, limit: limit)
    }

    /// The rest of `source`, read straight into the result, sized by the
    /// file as `fstat` gave it (one byte more shows growth): most reads are
    /// a few hundred bytes, the index most of a megabyte, and neither a
    /// zeroed chunk buffer nor an array grown chunk by chunk is paid for.
    /// A file that grew is read on in chunks, to at most `limit` bytes.
    private static func readAll(_ source: FileDescriptorSource, path: String, size: Int, limit: Int) throws -> [UInt8] {
        var out = try [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, count in
            count = 0
            while count < buffer.count {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[count...])))
                if n == 0 { break }
                count += n
            }
        }
        guard out.count > size else { return out }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard out.count <= limit else { throw FileError.tooLarge(path: path, bytes: out.count, limit: limit) }
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    /// Like `readRegularFile`, into a wiped buffer and nowhere else: for
    /// files of plaintext values.
    public static func readSecretRegularFile(path: String, limit: Int) throws -> SecureBytes {
        let (source, size) = try openRegularFile(path: path, limit: limit)
        // One byte more than the file's size shows whether it grew meanwhile.
        let data = SecureBytes(count: size + 1)
        var filled = 0
        while filled < data.count {
            let n = try data.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if n == 0 { break }
            filled += n
        }
        guard filled <= size else { throw FileError.tooLarge(path: path, bytes: filled, limit: size) }
        data.truncate(to: filled)
        return data
    }

    /// Opened non-blocking without following a link, checked to be a regular
    /// file of at most `limit` bytes; its size.
    private static func openRegularFile(path: String, limit: Int) throws -> (FileDescriptorSource, Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { throw FileError.open(path: path, errno: errno) }
        let source = FileDescriptorSource(fd: fd, name: path, owned: true)
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError.read(path: path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileError.notRegular(path: path) }
        guard Int(info.st_size) <= limit else { throw FileError.tooLarge(path: path, bytes: Int(info.st_size), limit: limit) }
        return (source, Int(info.st_size))
    }

    /// Like `read`, into a wiped buffer: for files that hold secrets.
    public static func readSecret(path: String) throws -> SecureBytes {
        try readSecret(from: try FileDescriptorSource(path: path))
    }

    /// A passphrase file's first line, without its line ending, in a wiped buffer.
    public static func readFirstSecretLine(path: String) throws -> SecureBytes {
        let contents = try readSecret(path: path)
        contents.truncate(to: contents.withUnsafeBytes { b in b.firstIndex { $0 == 0x0A || $0 == 0x0D } ?? b.count })
        return contents
    }

    /// Everything `source` gives until its end, into a wiped buffer.
    public static func readSecret(from source: FileDescriptorSource) throws -> SecureBytes {
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
            current.append("/")
            current.append(contentsOf: part)
            if mkdir(current, mode) != 0 && errno != EEXIST { throw FileError.write(path: current, errno: errno) }
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The entries of `dir` (without `.` and `..`); symlinks are neither
    /// directories nor files here, so walks never follow them.
    public static func entries(of dir: String) -> [(name: String, isDirectory: Bool, isFile: Bool)] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var result: [(String, Bool, Bool)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                // Some file systems do not report types in readdir.
                var info = stat()
                guard lstat(dir + "/" + name, &info) == 0 else { continue }
                type = info.st_mode & S_IFMT == S_IFDIR ? Int32(DT_DIR) : info.st_mode & S_IFMT == S_IFREG ? Int32(DT_REG) : Int32(DT_UNKNOWN)
            }
            result.append((name, type == Int32(DT_DIR), type == Int32(DT_REG)))
        }
        return result
    }
}
