#if canImport(Glibc)
import Glibc
#endif
import Posix

/// `audit.head`: how many lines the log has, its length in bytes and the
/// hash of the last line, as of the last append. Replaced whole (a
/// temporary file renamed over it).
struct AuditHead: Equatable {
    var lines: Int
    var bytes: Int
    var last: String

    private static let magic = "coffer-audit-head 1"

    var text: String { "\(AuditHead.magic)\nlines \(lines)\nbytes \(bytes)\nlast \(last)\n" }

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

    func write(to path: String) throws {
        do {
            let sink = try AtomicFileSink(path: path, mode: 0o600, durable: false, writingThrough: false)
            try sink.write(text)
            try sink.commit()
        } catch {
            throw AuditError.unwritable(path: path, reason: "\(error)")
        }
    }
}
