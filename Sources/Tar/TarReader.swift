/// Reads the regular files of a POSIX tar archive, strictly: every header's
/// checksum is checked, a member that is not a regular file (link,
/// directory, device, FIFO) or a path given twice is refused, sizes and
/// member counts are bounded, and an archive that ends before its data or
/// its end blocks is refused as truncated. pax extended headers may give a
/// member's path and size; global ones are refused.
public struct TarReader {
    public struct Member: Equatable, Sendable {
        public let path: String
        public let contents: [UInt8]

        public init(path: String, contents: [UInt8]) {
            self.path = path
            self.contents = contents
        }
    }

    /// Every member in archive order.
    public static func members(of archive: [UInt8], maxMemberSize: Int, maxMembers: Int) throws -> [Member] {
        var members: [Member] = []
        var seen: Set<String> = []
        var offset = 0
        var pending: [String: String] = [:]
        while true {
            guard offset + 512 <= archive.count else { throw TarError.truncated }
            let header = archive[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) {
                // The end: a second zero block must follow (GNU tar writes more padding).
                guard offset + 1024 <= archive.count, archive[offset + 512..<offset + 1024].allSatisfy({ $0 == 0 }),
                      pending.isEmpty
                else { throw TarError.truncated }
                return members
            }
            try checkChecksum(header, offset: offset)
            let type = header[header.startIndex + 156]
            var path = pending["path"] ?? cString(header, 0, 100, prefix: ustarPrefix(header))
            let size = try pending["size"].map { text -> Int in
                guard let n = Int(text), n >= 0 else { throw TarError.badExtendedHeader(offset: offset) }
                return n
            } ?? octal(header, 124, 12, offset: offset)
            pending = [:]
            let start = offset + 512
            let limit = type == UInt8(ascii: "x") ? 64 << 10 : maxMemberSize
            guard size <= limit else { throw TarError.tooLarge(path: path, limit: limit) }
            let end = start + size
            guard end <= archive.count else { throw TarError.truncated }
            let data = Array(archive[start..<end])
            offset = start + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "x"):
                pending = try paxRecords(data, offset: offset)
            case UInt8(ascii: "0"), 0:
                if path.hasPrefix("./") { path.removeFirst(2) }
                guard seen.insert(path).inserted else { throw TarError.duplicate(path: path) }
                guard members.count < maxMembers else { throw TarError.tooManyMembers(limit: maxMembers) }
                members.append(Member(path: path, contents: data))
            default:
                throw TarError.unsupportedMember(path: path, type: type)
            }
        }
    }

    private static func checkChecksum(_ header: ArraySlice<UInt8>, offset: Int) throws {
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(byte) }
        guard let stored = try? octal(header, 148, 8, offset: offset), stored == sum else { throw TarError.badChecksum(offset: offset) }
    }

    private static func ustarPrefix(_ header: ArraySlice<UInt8>) -> String? {
        let magic = header[header.startIndex + 257..<header.startIndex + 262]
        guard magic.elementsEqual("ustar".utf8) else { return nil }
        let prefix = cString(header, 345, 155, prefix: nil)
        return prefix.isEmpty ? nil : prefix
    }

    private static func cString(_ header: ArraySlice<UInt8>, _ at: Int, _ width: Int, prefix: String?) -> String {
        let field = header[header.startIndex + at..<header.startIndex + at + width]
        let name = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        return prefix.map { $0 + "/" + name } ?? name
    }

    private static func octal(_ header: ArraySlice<UInt8>, _ at: Int, _ width: Int, offset: Int) throws -> Int {
        let field = header[header.startIndex + at..<header.startIndex + at + width]
        var value = 0
        var sawDigit = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard value < Int.max >> 4 else { throw TarError.badChecksum(offset: offset) }
                value = value * 8 + Int(byte - UInt8(ascii: "0"))
                sawDigit = true
            case 0x20 where !sawDigit: continue
            case 0x20, 0: return value
            default: throw TarError.badChecksum(offset: offset)
            }
        }
        return value
    }

    /// "<length> <key>=<value>\n" records; each length counts its whole record.
    private static func paxRecords(_ data: [UInt8], offset: Int) throws -> [String: String] {
        var records: [String: String] = [:]
        var at = 0
        while at < data.count {
            guard let space = data[at...].firstIndex(of: 0x20),
                  let length = Int(String(decoding: data[at..<space], as: UTF8.self)), length > space - at, length <= data.count - at,
                  data[at + length - 1] == 0x0A, let equals = data[(space + 1)..<(at + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw TarError.badExtendedHeader(offset: offset) }
            let key = String(decoding: data[(space + 1)..<equals], as: UTF8.self)
            let value = String(decoding: data[(equals + 1)..<(at + length - 1)], as: UTF8.self)
            if key == "path" || key == "size" { records[key] = value }
            at += length
        }
        return records
    }
}
