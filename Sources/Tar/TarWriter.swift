/// Writes a POSIX tar archive (ustar; a pax extended header carries a path
/// longer than ustar's 100-byte name field) of regular files, byte for byte
/// the same for the same input: owner 0, mode 0644, one given time. What
/// `tar -x` of GNU tar, bsdtar and busybox reads.
public struct TarWriter {
    public private(set) var bytes: [UInt8] = []
    private let modificationTime: Int64

    /// `modificationTime`: seconds since the epoch, given to every member.
    public init(modificationTime: Int64) { self.modificationTime = max(0, modificationTime) }

    /// Appends one regular file.
    public mutating func add(path: String, contents: [UInt8]) throws {
        let name = Array(path.utf8)
        guard !name.isEmpty, !name.contains(0) else { throw TarError.invalidPath(path) }
        if name.count > 100 {
            // "<length> path=<name>\n", where the length counts itself.
            let body = " path=".utf8.count + name.count + 1
            var length = body + String(body).utf8.count
            if String(length).utf8.count != String(body).utf8.count { length += 1 }
            let record = Array("\(length) path=".utf8) + name + [0x0A]
            appendHeader(name: Array("PaxHeader/entry".utf8), size: record.count, type: UInt8(ascii: "x"))
            appendData(record)
            appendHeader(name: Array(name.suffix(100)), size: contents.count, type: UInt8(ascii: "0"))
        } else {
            appendHeader(name: name, size: contents.count, type: UInt8(ascii: "0"))
        }
        appendData(contents)
    }

    /// The archive, closed with its two zero blocks.
    public mutating func finish() -> [UInt8] {
        bytes += [UInt8](repeating: 0, count: 1024)
        return bytes
    }

    private mutating func appendHeader(name: [UInt8], size: Int, type: UInt8) {
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<name.count, with: name)
        put(octal: 0o644, width: 8, at: 100, in: &header)
        put(octal: 0, width: 8, at: 108, in: &header)
        put(octal: 0, width: 8, at: 116, in: &header)
        put(octal: Int64(size), width: 12, at: 124, in: &header)
        put(octal: modificationTime, width: 12, at: 136, in: &header)
        header[156] = type
        header.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        // The checksum is summed with its own field as spaces.
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int64($1) }
        put(octal: sum, width: 7, at: 148, in: &header)
        header[155] = 0x20
        bytes += header
    }

    private mutating func appendData(_ data: [UInt8]) {
        bytes += data
        let padding = (512 - data.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: padding)
    }

    /// Zero-padded octal digits and a NUL, filling `width` bytes.
    private func put(octal value: Int64, width: Int, at offset: Int, in header: inout [UInt8]) {
        let digits = Array(String(value, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits
        header.replaceSubrange(offset..<offset + width - 1, with: padded.suffix(width - 1))
        header[offset + width - 1] = 0
    }
}

/// Why an archive was refused. Names paths, never contents.
public enum TarError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidPath(String)
    case truncated
    case badChecksum(offset: Int)
    /// A member that is not a regular file (a link, directory, device…).
    case unsupportedMember(path: String, type: UInt8)
    case tooLarge(path: String, limit: Int)
    case tooManyMembers(limit: Int)
    case badExtendedHeader(offset: Int)
    case duplicate(path: String)

    public var description: String {
        switch self {
        case .invalidPath(let path): return "member path \(TarError.shown(path)) is not allowed"
        case .truncated: return "the archive is truncated"
        case .badChecksum(let offset): return "the member header at byte \(offset) is damaged (checksum)"
        case .unsupportedMember(let path, let type):
            return "member \(TarError.shown(path)) is not a regular file (type \(TarError.shown(String(UnicodeScalar(type)))))"
        case .tooLarge(let path, let limit): return "member \(TarError.shown(path)) is over \(limit) bytes"
        case .tooManyMembers(let limit): return "the archive has more than \(limit) members"
        case .badExtendedHeader(let offset): return "the extended header at byte \(offset) is damaged"
        case .duplicate(let path): return "member \(TarError.shown(path)) appears twice"
        }
    }

    /// Printable ASCII as is, anything else escaped: paths come from the archive.
    static func shown(_ text: String) -> String {
        var out = ""
        for byte in text.utf8.prefix(200) {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") { out.append(Character(UnicodeScalar(byte))) } else {
                out += "\\x" + String(byte, radix: 16).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
