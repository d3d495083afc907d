import CofferKit

/// JSON documents the server writes that hold no value (ids, commits,
/// versions, errors), with keys in the order given, as the CLI's `-o json`.
/// Revealed values never pass through here: `FlatJSON.encode` writes them
/// from their wiped buffers.
indirect enum JSONText {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .string(let s): out += FlatJSON.quoted(s)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                out += FlatJSON.quoted(key)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }
}
