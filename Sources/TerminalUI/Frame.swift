#if canImport(Glibc)
import Glibc
#endif
import Age
import CLinux

/// How a span is drawn. Colours are dropped under `NO_COLOR`; bold, dim
/// and reverse video are not colours and stay.
public struct Style: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let bold = Style(rawValue: 1 << 0)
    public static let dim = Style(rawValue: 1 << 1)
    public static let reverse = Style(rawValue: 1 << 2)
    public static let red = Style(rawValue: 1 << 8)
    public static let green = Style(rawValue: 1 << 9)
    public static let yellow = Style(rawValue: 1 << 10)
    public static let cyan = Style(rawValue: 1 << 11)

    static let colours: [(Style, String)] = [(.red, "31"), (.green, "32"), (.yellow, "33"), (.cyan, "36")]
    static let attributes: [(Style, String)] = [(.bold, "1"), (.dim, "2"), (.reverse, "7")]
}

/// A piece of a line: text (anything — it is escaped when drawn, so no
/// control character or bidi override from a name or id reaches the
/// terminal), or a secret's bytes, drawn the same way straight from its
/// wiped buffer.
public enum Span {
    case text(String, Style = [])
    case secret(SecureBytes, Style = [])
}

/// One screenful, drawn whole: each row from its first column, clipped to
/// the width (an ellipsis marks a cut), the rest of the row cleared or
/// filled in its style. Drawing writes every row, so a frame never leaves
/// anything of the one before — a value hidden again is gone.
public struct Frame {
    public let columns: Int
    public let rows: Int
    private var lines: [(spans: [Span], fill: Style)]

    public init(columns: Int, rows: Int) {
        self.columns = max(columns, 1)
        self.rows = max(rows, 1)
        lines = Array(repeating: ([], []), count: self.rows)
    }

    /// Sets row `row` (rows outside the frame are ignored); `fill` styles the
    /// blank rest of the row (reverse video for a selection bar).
    public mutating func set(_ row: Int, _ spans: [Span], fill: Style = []) {
        guard row >= 0 && row < rows else { return }
        lines[row] = (spans, fill)
    }

    /// The text of each row as drawn, without styles (for tests).
    public func plainText() -> [String] {
        let bytes = render(colour: false)
        let text = bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        var rows: [String] = [], line: String?, inEscape = false
        for scalar in text.unicodeScalars {
            if scalar == "\u{1B}" { inEscape = true; continue }
            guard inEscape else { line?.unicodeScalars.append(scalar); continue }
            // Inside ESC [ …: parameters, then one final letter.
            guard scalar.value >= 0x40, scalar != "[" else { continue }
            inEscape = false
            if scalar == "H" {
                if let line { rows.append(line) }
                line = ""
            }
        }
        if let line { rows.append(line) }
        return rows
    }

    /// The escape sequences and text of the whole frame, in a wiped buffer.
    public func render(colour: Bool) -> SecureBytes {
        var out = FrameWriter(capacity: rows * (columns * 12 + 64) + 64)
        for (row, line) in lines.enumerated() {
            // Each row erased first: whatever a terminal made of the last
            // frame (a character it drew wider than counted), nothing stays.
            out.append("\u{1B}[\(row + 1);1H\u{1B}[0m\u{1B}[2K")
            var left = columns
            for span in line.spans where left > 0 {
                let style: Style
                switch span {
                case .text(let text, let s):
                    style = s
                    out.append(Frame.sgr(style, colour: colour))
                    let shown = UntrustedText.escaped(text)
                    left = out.appendClipped(room: left) { visit in shown.unicodeScalars.forEach { visit($0, CellWidth.of($0)) } }
                case .secret(let value, let s):
                    style = s
                    out.append(Frame.sgr(style, colour: colour))
                    // Escaped byte by byte from the wiped buffer, never copied out of it.
                    left = value.withUnsafeBytes { bytes in out.appendClipped(room: left) { SecretText.forEachCell(bytes, $0) } }
                }
                out.append("\u{1B}[0m")
            }
            out.append(Frame.sgr(line.fill, colour: colour))
            if left > 0 { out.append(String(repeating: " ", count: left)) }
            out.append("\u{1B}[0m")
        }
        return out.finish()
    }

    static func sgr(_ style: Style, colour: Bool) -> String {
        var codes = Style.attributes.filter { style.contains($0.0) }.map(\.1)
        if colour { codes += Style.colours.filter { style.contains($0.0) }.map(\.1) }
        return codes.isEmpty ? "" : "\u{1B}[" + codes.joined(separator: ";") + "m"
    }

    /// Whether colours are wanted: not when `NO_COLOR` is set to anything.
    public static var colourWanted: Bool {
        guard let value = getenv("NO_COLOR") else { return true }
        return value.pointee == 0
    }
}

/// The columns a character takes: 2 for wide (CJK, most emoji), else 1
/// (glibc's wcwidth under a UTF-8 locale).
enum CellWidth {
    nonisolated(unsafe) private static var localeSet = false

    static func of(_ scalar: Unicode.Scalar) -> Int {
        if scalar.value < 0x7F { return 1 }
        if !localeSet {
            localeSet = true
            setlocale(LC_CTYPE, "C.UTF-8")
        }
        // A combining mark counts as a column too, so the frame's buffer (at
        // most 4 bytes a column) cannot overflow on a run of them.
        let width = wcwidth(wchar_t(bitPattern: scalar.value))
        return width == 2 ? 2 : 1
    }
}

/// The frame's bytes, written into one wiped buffer sized up front (it never
/// grows, so no copy of a revealed value is left behind in freed memory).
struct FrameWriter {
    private let buffer: SecureBytes
    private var count = 0

    init(capacity: Int) { buffer = SecureBytes(count: capacity) }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = buffer.count - count
        let n = min(room, bytes.count)
        guard n > 0 else { return }
        buffer.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[count..<count + n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<n])) }
        count += n
    }

    private mutating func append(_ scalar: Unicode.Scalar) {
        var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let length = withUnsafeMutableBytes(of: &utf8) { raw -> Int in
            var n = 0
            UTF8.encode(scalar) { raw[n] = $0; n += 1 }
            return n
        }
        withUnsafeBytes(of: &utf8) { append(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        utf8 = (0, 0, 0, 0)
    }

    /// Appends the characters `cells` visits (twice: once to measure) within
    /// `room` columns; when they do not all fit, an ellipsis in the last
    /// column marks the cut. Returns the columns left.
    mutating func appendClipped(room: Int, _ cells: ((Unicode.Scalar, Int) -> Void) -> Void) -> Int {
        var total = 0
        cells { _, width in total += width }
        let limit = total <= room ? room : room - 1
        var used = 0
        cells { scalar, width in
            guard used + width <= limit else { return }
            append(scalar)
            used += width
        }
        guard total > room else { return room - used }
        if room >= 1 { append("…"); used += 1 }
        return room - used
    }

    func finish() -> SecureBytes {
        buffer.truncate(to: count)
        return buffer
    }
}

/// A secret's bytes as the characters that draw them, visited one at a
/// time (never collected: a collection would be a copy of the value):
/// printable UTF-8 as it is, control and bidi characters as escapes
/// (`\xNN`, `\u{N}`, as `UntrustedText`), an invalid sequence as `\u{fffd}`.
enum SecretText {
    static func forEachCell(_ bytes: UnsafeRawBufferPointer, _ body: (Unicode.Scalar, Int) -> Void) {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                guard UntrustedText.needsEscape(scalar) else {
                    body(scalar, CellWidth.of(scalar))
                    continue
                }
                escape(scalar.value, body)
            case .error:
                // One invalid sequence, shown as the replacement mark's escape.
                escape(0xFFFD, body)
            case .emptyInput:
                return
            }
        }
    }

    private static let hex = Array("0123456789abcdef".unicodeScalars)

    /// `\\` for a backslash, `\xNN` below 0x100, else `\u{N}`.
    private static func escape(_ value: UInt32, _ body: (Unicode.Scalar, Int) -> Void) {
        body("\\", 1)
        if value == 0x5C { body("\\", 1); return }
        if value < 0x100 {
            body("x", 1)
            body(hex[Int(value >> 4)], 1)
            body(hex[Int(value & 0xF)], 1)
            return
        }
        body("u", 1)
        body("{", 1)
        var shift = 28
        while shift > 0 && (value >> UInt32(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            body(hex[Int((value >> UInt32(shift)) & 0xF)], 1)
            shift -= 4
        }
        body("}", 1)
    }
}
