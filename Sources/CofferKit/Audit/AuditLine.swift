import Age
import Posix

/// The text of one audit log line: a flat JSON object of strings on one
/// line (so `FlatJSON` reads it back), fields in a fixed order, the last
/// one the SHA-256 (hex) of the previous line's bytes (without its newline;
/// 64 zeros for the first). `ids` are joined by spaces (an id has none);
/// `commit` is empty when unknown. The chain fields sit at fixed places,
/// so `verify` finds them without trusting the rest of the line.
enum AuditLine {
    static let genesis = String(repeating: "0", count: 64)

    static func encode(_ event: AuditEvent, sequence: Int, previous: String) -> String {
        var line = "{\"seq\":\"\(sequence)\",\"time\":" + quoted(UTCTime.iso8601(event.time))
        line += ",\"user\":" + quoted(event.user) + ",\"vault\":" + quoted(event.vault)
        line += ",\"action\":" + quoted(event.action)
        // Joined by hand: the generic `joined` looks up protocol witnesses at run time.
        var ids = ""
        for (index, id) in event.ids.enumerated() { ids += index == 0 ? id : " " + id }
        line += ",\"ids\":" + quoted(ids)
        line += ",\"commit\":" + quoted(event.commit ?? "")
        line += ",\"prev\":\"" + previous + "\"}"
        return line
    }

    /// SHA-256 of a line's bytes, hex: what the next line's `prev` holds.
    static func hash<Bytes: Collection>(_ line: Bytes) -> String where Bytes.Element == UInt8 {
        Text.hex(Digest.sha256(Array(line)))
    }

    /// The `seq` a line starts with, if it is shaped as coffer writes it.
    static func sequence(of line: ArraySlice<UInt8>) -> Int? {
        let start = Array("{\"seq\":\"".utf8)
        guard line.starts(with: start) else { return nil }
        let digits = line.dropFirst(start.count).prefix { $0 >= 48 && $0 <= 57 }
        guard !digits.isEmpty, digits.count < 19, line.dropFirst(start.count + digits.count).first == UInt8(ascii: "\"") else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// The `prev` a line ends with, if it is shaped as coffer writes it.
    static func previous(of line: ArraySlice<UInt8>) -> String? {
        let end = Array("\"}".utf8), key = Array(",\"prev\":\"".utf8)
        guard line.count >= key.count + 64 + end.count, line.suffix(end.count).elementsEqual(end) else { return nil }
        let hex = line.dropLast(end.count).suffix(64)
        guard line.dropLast(end.count + 64).suffix(key.count).elementsEqual(key),
              hex.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        return String(decoding: hex, as: UTF8.self)
    }

    /// A JSON string; control characters escaped, so a line stays one line.
    static func quoted(_ text: String) -> String { FlatJSON.quoted(text) }
}
