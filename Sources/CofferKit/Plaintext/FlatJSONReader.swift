import Age

/// One JSON object of strings (RFC 8259, strictly): `{"key": "value", …}`,
/// nothing nested, no key twice, nothing after it. Escapes as JSON has them,
/// `\uXXXX` and surrogate pairs included; a lone surrogate, a raw control
/// character or bytes that are not UTF-8 are refused. Errors give a line
/// and coffer's own words, and name a key only once it has been read as
/// one; values go straight from the text into wiped buffers.
public enum FlatJSON {
    public static func parse(_ text: SecureBytes) throws -> [PlaintextEntry] {
        try text.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ text: UnsafeRawBufferPointer) throws -> [PlaintextEntry] {
        if let bad = UTF8Text.firstInvalidByte(in: text) {
            throw PlaintextError.notUTF8(line: UTF8Text.line(of: bad, in: text))
        }
        var reader = FlatJSONReader(text: text, at: UTF8Text.byteOrderMark(text))
        return try reader.object()
    }
}

private struct FlatJSONReader {
    let text: UnsafeRawBufferPointer
    var at: Int

    init(text: UnsafeRawBufferPointer, at: Int) {
        self.text = text
        self.at = at
    }

    mutating func object() throws -> [PlaintextEntry] {
        skipWhitespace()
        try expect("{", "the document is not an object")
        var entries: [PlaintextEntry] = []
        var seen = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            at += 1
        } else {
            while true {
                skipWhitespace()
                let keyStart = at
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let key = try string()
                let name = key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                skipWhitespace()
                try expect(":", "expected ':' after a key")
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else {
                    if peek() == nil { throw failure("the document ends inside the object") }
                    throw PlaintextError.notAString(key: name)
                }
                let value = try string()
                guard seen.insert(name).inserted else { throw PlaintextError.duplicateKey(name, line: UTF8Text.line(of: keyStart, in: text)) }
                entries.append((key: name, value: value))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    at += 1
                    continue
                }
                try expect("}", "expected ',' or '}' after a value")
                break
            }
        }
        skipWhitespace()
        guard at == text.count else { throw failure("text after the object") }
        return entries
    }

    /// A string at `at` (its opening quote), decoded.
    private mutating func string() throws -> SecureBytes {
        let start = at
        at += 1
        var close = at
        while close < text.count && text[close] != UInt8(ascii: "\"") {
            close += text[close] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard close < text.count else {
            at = start
            throw failure("a string without its closing quote")
        }
        var out = ValueBuffer(capacity: close - at)
        while at < close {
            let byte = text[at]
            if byte < 0x20 { throw failure("a control character inside a string (escape it)") }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                at += 1
                continue
            }
            at += 1
            switch text[at] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(text[at])
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                try appendUnicodeEscape(to: &out, before: close)
                continue
            default: throw failure("an unknown escape in a string")
            }
            at += 1
        }
        at = close + 1
        return out.finish()
    }

    /// `uXXXX` at `at` (after its backslash), with the low half of a
    /// surrogate pair when it is a high half; appended as UTF-8.
    private mutating func appendUnicodeEscape(to out: inout ValueBuffer, before end: Int) throws {
        guard let high = hex4(at + 1, before: end) else { throw failure("a \\u escape without four hex digits") }
        at += 5
        var scalar = high
        if (0xD800...0xDBFF).contains(high) {
            guard at + 1 < end, text[at] == UInt8(ascii: "\\"), text[at + 1] == UInt8(ascii: "u"),
                  let low = hex4(at + 2, before: end), (0xDC00...0xDFFF).contains(low) else {
                throw failure("a \\u escape of half a surrogate pair")
            }
            at += 6
            scalar = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(high) {
            throw failure("a \\u escape of half a surrogate pair")
        }
        for byte in UTF8.encode(Unicode.Scalar(scalar)!)! { out.append(byte) }
    }

    private func hex4(_ start: Int, before end: Int) -> UInt32? {
        guard start + 4 <= end else { return nil }
        var value: UInt32 = 0
        for byte in text[start..<(start + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: bytes

    private var line: Int { UTF8Text.line(of: at, in: text) }

    private func failure(_ reason: String) -> PlaintextError { .notFlatJSON(reason: reason, line: line) }

    private func peek() -> UInt8? { at < text.count ? text[at] : nil }

    private mutating func expect(_ character: Unicode.Scalar, _ reason: String) throws {
        guard peek() == UInt8(ascii: character) else { throw failure(peek() == nil ? "the document ends early" : reason) }
        at += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { at += 1 }
    }
}
