import Age

/// dotenv files, read as python-dotenv reads them: `KEY=VALUE` lines, `#`
/// comments, blank lines, an optional `export ` before the key; an unquoted
/// value trimmed, with a ` #…` comment cut off; a single-quoted value
/// literal but for `\\` and `\'`; a double-quoted value with the escapes
/// `\\ \' \" \a \b \f \n \r \t \v` (any other backslash is kept as
/// written); quoted values may span lines. No interpolation: `$` is a
/// character like any other. A key given twice, and any line that is none
/// of these, is refused by its line number, never its text.
public enum Dotenv {
    /// The entries of `text`, in file order; values only ever in wiped buffers.
    public static func parse(_ text: SecureBytes) throws -> [PlaintextEntry] {
        try text.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ text: UnsafeRawBufferPointer) throws -> [PlaintextEntry] {
        if let bad = UTF8Text.firstInvalidByte(in: text) {
            throw PlaintextError.notUTF8(line: UTF8Text.line(of: bad, in: text))
        }
        var reader = DotenvReader(text: text, at: UTF8Text.byteOrderMark(text))
        return try reader.entries()
    }
}

private let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), backslash = UInt8(ascii: "\\")
private let singleQuote = UInt8(ascii: "'"), doubleQuote = UInt8(ascii: "\""), hash = UInt8(ascii: "#"), equals = UInt8(ascii: "=")

private struct DotenvReader {
    let text: UnsafeRawBufferPointer
    var at: Int
    var line = 1

    init(text: UnsafeRawBufferPointer, at: Int) {
        self.text = text
        self.at = at
    }

    mutating func entries() throws -> [PlaintextEntry] {
        var entries: [PlaintextEntry] = []
        var seen = Set<String>()
        while true {
            repeat { skipBlanks() } while takeLineEnd()
            guard let first = peek() else { return entries }
            let start = line
            if first == hash {
                skipToLineEnd()
                _ = takeLineEnd()
                continue
            }
            skipExport()
            let key = try readKey(line: start)
            skipBlanks()
            guard peek() == equals else { throw PlaintextError.notAnAssignment(line: start) }
            at += 1
            skipBlanks()
            let value = try readValue(line: start)
            guard seen.insert(key).inserted else { throw PlaintextError.duplicateKey(key, line: start) }
            entries.append((key: key, value: value))
        }
    }

    // MARK: pieces of a line

    /// `export` and the blanks after it, when a key follows.
    private mutating func skipExport() {
        let word = Array("export".utf8)
        guard text.count - at > word.count, text[at..<(at + word.count)].elementsEqual(word),
              Self.isBlank(text[at + word.count]) else { return }
        at += word.count
        skipBlanks()
    }

    /// `[^=#\s]+`, as python-dotenv's unquoted key.
    private mutating func readKey(line: Int) throws -> String {
        let start = at
        while let byte = peek(), byte != equals, byte != hash, !Self.isWhitespace(byte) { at += 1 }
        guard at > start else { throw PlaintextError.notAnAssignment(line: line) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<at]), as: UTF8.self)
    }

    private mutating func readValue(line: Int) throws -> SecureBytes {
        switch peek() {
        case nil:
            return SecureBytes(count: 0)
        case singleQuote?, doubleQuote?:
            return try readQuoted(line: line)
        default:
            let start = at
            skipToLineEnd()
            var end = at
            // A comment starts at a `#` after whitespace; the value's own trailing whitespace goes too.
            if let comment = (start..<end).first(where: { $0 > start && text[$0] == hash && Self.isWhitespace(text[$0 - 1]) }) {
                end = comment
            }
            while end > start && Self.isWhitespace(text[end - 1]) { end -= 1 }
            _ = takeLineEnd()
            return SecureBytes(copying: UnsafeRawBufferPointer(rebasing: text[start..<end]))
        }
    }

    private mutating func readQuoted(line start: Int) throws -> SecureBytes {
        let quote = text[at]
        at += 1
        var close = at
        while close < text.count && text[close] != quote {
            close += text[close] == backslash && close + 1 < text.count ? 2 : 1
        }
        guard close < text.count else { throw PlaintextError.unterminatedQuote(line: start) }
        var value = ValueBuffer(capacity: close - at)
        while at < close {
            let byte = text[at]
            if byte == lf || (byte == cr && text[at + 1] != lf) { line += 1 }
            // The scan above stepped over escapes the same way: a backslash here has its pair before `close`.
            guard byte == backslash else {
                value.append(byte)
                at += 1
                continue
            }
            let next = text[at + 1]
            if let decoded = quote == singleQuote ? Self.singleQuoted(next) : Self.doubleQuoted(next) {
                value.append(decoded)
            } else {
                value.append(byte)
                value.append(next)
            }
            if next == lf { line += 1 }
            at += 2
        }
        at = close + 1
        skipBlanks()
        if peek() == hash { skipToLineEnd() }
        guard peek() == nil || takeLineEnd() else { throw PlaintextError.textAfterQuote(line: line) }
        return value.finish()
    }

    private static func singleQuoted(_ byte: UInt8) -> UInt8? {
        byte == backslash || byte == singleQuote ? byte : nil
    }

    private static func doubleQuoted(_ byte: UInt8) -> UInt8? {
        switch byte {
        case backslash, singleQuote, doubleQuote: return byte
        case UInt8(ascii: "a"): return 0x07
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return lf
        case UInt8(ascii: "r"): return cr
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "v"): return 0x0B
        default: return nil
        }
    }

    // MARK: bytes

    private func peek() -> UInt8? { at < text.count ? text[at] : nil }

    private mutating func skipBlanks() { while let byte = peek(), Self.isBlank(byte) { at += 1 } }

    private mutating func skipToLineEnd() { while let byte = peek(), byte != lf, byte != cr { at += 1 } }

    /// Takes one line end (LF, CRLF or CR); false when not at one.
    private mutating func takeLineEnd() -> Bool {
        guard let byte = peek(), byte == lf || byte == cr else { return false }
        at += 1
        if byte == cr && peek() == lf { at += 1 }
        line += 1
        return true
    }

    /// Whitespace within a line.
    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C }

    private static func isWhitespace(_ byte: UInt8) -> Bool { isBlank(byte) || byte == lf || byte == cr }
}
