import Age

/// The little JSON coffer prints (`-o json`). Hand-rendered to keep start-up
/// light; keys keep their order so the output is stable (see docs/CLI.md).
indirect enum JSONValue {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A secret value: a JSON string if it is UTF-8, else base64 in an object.
    static func secret(_ value: SecureBytes) -> JSONValue {
        value.withUnsafeBytes { bytes in
            if let text = String(validating: bytes, as: UTF8.self) { return .string(text) }
            return .object([("base64", .string(Base64.encode(bytes, padded: true)))])
        }
    }

    var rendered: String {
        switch self {
        case .number(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.map { JSONValue.string($0.0).rendered + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        case .string(let s):
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                    let hex = String(scalar.value, radix: 16); out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
    }
}
