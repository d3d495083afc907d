#if canImport(Glibc)
import Glibc
#endif
import Posix

/// `audit.head`: how many lines the log has, its length in bytes and the
/// hash of the last line, as of the last append. Its numbers are written
/// 20 digits wide, so every head is 144 bytes and is rewritten in place by
/// one `pwrite` under the log's lock: a rename over it (the old way, still
/// read) made ext4 write the new file back at once, half a millisecond of
/// every reveal.
struct AuditHead: Equatable {
    var lines: Int
    var bytes: Int
    var last: String

    private static let magic = "coffer-audit-head 1"

    var text: String { "\(AuditHead.magic)\nlines \(AuditHead.padded(lines))\nbytes \(AuditHead.padded(bytes))\nlast \(last)\n" }

    private static func padded(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The head, or nil when there is none yet.
    static func read(from path: String) throws -> AuditHead? {
        let bytes: [UInt8]
        do {
            bytes = try Files.readRegularFile(path: path, limit: 4096)
        } catch FileError.open(_, ENOENT) {
            return nil
        } catch {
            throw AuditError.unreadable(path: path, reason: "\(error)")
        }
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard fields.count == 4, fields[0] == magic, fields[1].hasPrefix("lines "), fields[2].hasPrefix("bytes "),
              fields[3].hasPrefix("last "), let lines = Int(fields[1].dropFirst(6)), lines >= 0,
              let size = Int(fields[2].dropFirst(6)), size >= 0 else { throw AuditError.malformedHead(path: path) }
        let last = String(fields[3].dropFirst(5))
        guard last.utf8.count == 64 else { throw AuditError.malformedHead(path: path) }
        return AuditHead(lines: lines, bytes: size, last: last)
    }

    /// Rewrites the head in place (the caller holds the log's lock). Never
    /// through a link; a head of another length (the old format) is cut to
    /// this one's first, once.
    func write(to path: String) throws {
        let bytes = Array(text.utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw AuditError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw AuditError.unwritable(path: path, reason: "not a regular file")
        }
        if Int(info.st_size) != bytes.count, ftruncate(fd, off_t(bytes.count)) != 0 {
            throw AuditError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else {
            throw AuditError.unwritable(path: path, reason: written < 0 ? String(cString: strerror(errno)) : "short write")
        }
    }
}
