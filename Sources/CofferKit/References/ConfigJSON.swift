import Age

/// JSON config documents (RFC 8259): parsed into a `ConfigNode` with key
/// order kept, and written back with two-space indentation, strings
/// escaped as JSON requires. Numbers keep the text they were written with.
/// A template is the user's config, not a secret: its strings are Swift
/// strings and errors may give its line; resolved values only ever go
/// into wiped buffers.
public enum ConfigJSON {
    /// Nesting deeper than this is refused rather than recursed into.
    static let maxDepth = 256

    public static func parse(_ text: UnsafeRawBufferPointer) throws -> ConfigNode {
        if let bad = UTF8Text.firstInvalidByte(in: text) {
            throw ReferenceError.notJSON(reason: "not UTF-8 text", line: UTF8Text.line(of: bad, in: text))
        }
        var reader = ConfigJSONReader(text: text, at: UTF8Text.byteOrderMark(text))
        reader.skipWhitespace()
        let node = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.at == text.count else { throw reader.failure("text after the document") }
        return node
    }

    /// The document with its references resolved, in a wiped buffer.
    public static func encode(_ node: ResolvedNode) -> SecureBytes {
        var out = ValueBuffer(capacity: 4096)
        write(node, indent: 0, to: &out)
        out.append("\n")
        return out.finish()
    }

    private static func write(_ node: ResolvedNode, indent: Int, to out: inout ValueBuffer) {
        func newline(_ level: Int) {
            out.append("\n")
            for _ in 0..<level { out.append("  ") }
        }
        switch node {
        case .scalar(let text): out.append(ascii: text)
        case .string(let text):
            var text = text
            text.withUTF8 { FlatJSON.appendString(UnsafeRawBufferPointer($0), to: &out) }
        case .secret(let value): value.withUnsafeBytes { FlatJSON.appendString($0, to: &out) }
        case .list(let items):
            guard !items.isEmpty else { return out.append("[]") }
            out.append("[")
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(",") }
                newline(indent + 1)
                write(item, indent: indent + 1, to: &out)
            }
            newline(indent)
            out.append("]")
        case .map(let entries):
            guard !entries.isEmpty else { return out.append("{}") }
            out.append("{")
            for (index, entry) in entries.enumerated() {
                if index > 0 { out.append(",") }
                newline(indent + 1)
                var key = entry.key
                key.withUTF8 { FlatJSON.appendString(UnsafeRawBufferPointer($0), to: &out) }
                out.append(": ")
                write(entry.value, indent: indent + 1, to: &out)
            }
            newline(indent)
            out.append("}")
        }
    }

}

private struct ConfigJSONReader {
    let text: UnsafeRawBufferPointer
    var at: Int

    init(text: UnsafeRawBufferPointer, at: Int) {
        self.text = text
        self.at = at
    }

    mutating func value(depth: Int) throws -> ConfigNode {
        guard depth < ConfigJSON.maxDepth else { throw failure("nested more than \(ConfigJSON.maxDepth) deep") }
        switch peek() {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case nil: throw failure("the document ends early")
        default: return .scalar(try scalar())
        }
    }

    private mutating func object(depth: Int) throws -> ConfigNode {
        at += 1
        var entries: [(key: String, value: ConfigNode)] = []
        var seen = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            at += 1
            return .map(entries)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try string()
            guard seen.insert(key).inserted else { throw failure("the key \(FlatJSON.quoted(key)) appears twice") }
            skipWhitespace()
            try expect(":", "expected ':' after a key")
            skipWhitespace()
            entries.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                at += 1
                continue
            }
            try expect("}", "expected ',' or '}' in an object")
            return .map(entries)
        }
    }

    private mutating func array(depth: Int) throws -> ConfigNode {
        at += 1
        var items: [ConfigNode] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            at += 1
            return .list(items)
        }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                at += 1
                continue
            }
            try expect("]", "expected ',' or ']' in a list")
            return .list(items)
        }
    }

    /// `true`, `false`, `null` or a number, as written.
    private mutating func scalar() throws -> String {
        let start = at
        while let byte = peek(), Self.isScalarByte(byte) { at += 1 }
        let word = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<at]), as: UTF8.self)
        guard word == "true" || word == "false" || word == "null" || Self.isNumber(word) else {
            at = start
            throw failure("expected a value")
        }
        return word
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "E")
    }

    /// RFC 8259's number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private static func isNumber(_ word: String) -> Bool {
        var digits = Array(word.utf8)[...]
        func takeDigits() -> Int {
            let n = digits.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            digits = digits.dropFirst(n)
            return n
        }
        if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
        if digits.first == 0x30 { digits = digits.dropFirst() } else if takeDigits() == 0 { return false }
        if digits.first == UInt8(ascii: ".") {
            digits = digits.dropFirst()
            guard takeDigits() > 0 else { return false }
        }
        if digits.first == UInt8(ascii: "e") || digits.first == UInt8(ascii: "E") {
            digits = digits.dropFirst()
            if digits.first == UInt8(ascii: "+") || digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
            guard takeDigits() > 0 else { return false }
        }
        return digits.isEmpty
    }

    /// A string at `at` (its opening quote), decoded.
    private mutating func string() throws -> String {
        at += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw failure("a string without its closing quote") }
            at += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case 0x00..<0x20: throw failure("a control character inside a string (escape it)")
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { throw failure("a string without its closing quote") }
                at += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out += UTF8.encode(try unicodeEscape())!
                default: throw failure("an unknown escape in a string")
                }
            default: out.append(byte)
            }
        }
    }

    /// The scalar of `XXXX` after `\u` (with the low half of a surrogate pair).
    private mutating func unicodeEscape() throws -> Unicode.Scalar {
        let high = try hex4()
        if (0xDC00...0xDFFF).contains(high) { throw failure("a \\u escape of half a surrogate pair") }
        guard (0xD800...0xDBFF).contains(high) else { return Unicode.Scalar(high)! }
        guard peek() == UInt8(ascii: "\\"), at + 1 < text.count, text[at + 1] == UInt8(ascii: "u") else {
            throw failure("a \\u escape of half a surrogate pair")
        }
        at += 2
        let low = try hex4()
        guard (0xDC00...0xDFFF).contains(low) else { throw failure("a \\u escape of half a surrogate pair") }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= text.count else { throw failure("a \\u escape without four hex digits") }
        var value: UInt32 = 0
        for byte in text[at..<(at + 4)] {
            guard let digit = Int(String(UnicodeScalar(byte)), radix: 16) else { throw failure("a \\u escape without four hex digits") }
            value = value << 4 | UInt32(digit)
        }
        at += 4
        return value
    }

    // MARK: bytes

    func failure(_ reason: String) -> ReferenceError { .notJSON(reason: reason, line: UTF8Text.line(of: at, in: text)) }

    private func peek() -> UInt8? { at < text.count ? text[at] : nil }

    private mutating func expect(_ character: Unicode.Scalar, _ reason: String) throws {
        guard peek() == UInt8(ascii: character) else { throw failure(peek() == nil ? "the document ends early" : reason) }
        at += 1
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { at += 1 }
    }
}
