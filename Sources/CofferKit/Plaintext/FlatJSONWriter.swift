import Age

extension FlatJSON {
    /// One object, one `"key": "value"` line per entry in the order given,
    /// strings escaped as JSON requires (`\"`, `\\`, control characters);
    /// the rest of the UTF-8 is written as it is. A value that is not UTF-8
    /// is refused, naming its key.
    /// `compact`: all on one line, no spaces, no final newline (an HTTP answer).
    public static func encode(_ entries: [PlaintextEntry], compact: Bool = false) throws -> SecureBytes {
        var out = ValueBuffer(capacity: entries.reduce(4) { $0 + $1.key.utf8.count + $1.value.count + 8 })
        out.append("{")
        for (index, (key, value)) in entries.enumerated() {
            guard UTF8Text.isValid(value) else { throw PlaintextError.valueNotUTF8(key: key) }
            if compact {
                if index > 0 { out.append(",") }
            } else {
                out.append(index == 0 ? "\n  " : ",\n  ")
            }
            var key = key
            key.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
            out.append(compact ? ":" : ": ")
            value.withUnsafeBytes { appendString($0, to: &out) }
        }
        out.append(compact ? "}" : entries.isEmpty ? "}\n" : "\n}\n")
        return out.finish()
    }

    /// `"…"` with `"`, `\\` and control characters escaped; the rest of the
    /// UTF-8 as it is (the caller has checked it is UTF-8). Shared with `ConfigJSON`.
    /// A JSON string literal of text that is not secret (ids, paths, names).
    public static func quoted(_ text: String) -> String {
        var out = ValueBuffer(capacity: text.utf8.count + 2)
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
        return out.finish().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout ValueBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        out.append("\"")
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append("\\\"")
            case UInt8(ascii: "\\"): out.append("\\\\")
            case 0x0A: out.append("\\n")
            case 0x0D: out.append("\\r")
            case 0x09: out.append("\\t")
            case 0x08: out.append("\\b")
            case 0x0C: out.append("\\f")
            case 0x00..<0x20:
                out.append("\\u00")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append("\"")
    }
}
