import Age
import TerminalUI

/// A line typed at the bottom of the screen: plain (an id, a name, a key),
/// or masked (a value), which is never drawn — not even as dots, which
/// would show its length — and lives only in a wiped buffer.
final class LineInput {
    let label: String
    let masked: Bool
    private(set) var text: String
    private let secret: SecureBytes
    private(set) var secretCount = 0
    /// Typed or pasted past `maskedLimit`: refused at Enter, never cut short.
    private var overflowed = false
    static let maskedLimit = KeyDecoder.pasteLimit
    /// An id, a name or a key fits in far less.
    static let plainLimit = 4096
    /// Said after the answer until the next key (a paste that was left out).
    var note: String?

    init(_ label: String, text: String = "", masked: Bool = false) {
        self.label = label
        self.masked = masked
        self.text = masked ? "" : text
        secret = SecureBytes(count: masked ? LineInput.maskedLimit : 0)
    }

    /// Takes an editing key; false for keys it does not edit with.
    func edit(_ key: Key) -> Bool {
        note = nil
        switch key {
        case .character(let scalar):
            if masked {
                var utf8: [UInt8] = []
                UTF8.encode(scalar) { utf8.append($0) }
                guard secretCount + utf8.count <= secret.count else {
                    overflowed = true
                    return true
                }
                secret.withUnsafeMutableBytes { for (i, b) in utf8.enumerated() { $0[secretCount + i] = b } }
                secretCount += utf8.count
                for i in utf8.indices { utf8[i] = 0 }
            } else if text.count < LineInput.plainLimit {
                text.unicodeScalars.append(scalar)
            }
        case .backspace:
            if masked {
                // Back over one UTF-8 character: its continuation bytes, then its lead.
                secret.withUnsafeMutableBytes { bytes in
                    while secretCount > 0 {
                        secretCount -= 1
                        let byte = bytes[secretCount]
                        bytes[secretCount] = 0
                        if byte & 0xC0 != 0x80 { break }
                    }
                }
            } else if !text.isEmpty {
                text.unicodeScalars.removeLast()
            }
        case .control("u"):
            if masked { _ = secret.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }; secretCount = 0 } else { text = "" }
            overflowed = false
        default:
            return false
        }
        return true
    }

    /// Why Enter cannot take what was typed, if it cannot.
    var refusal: String? {
        overflowed ? "the value is longer than \(LineInput.maskedLimit >> 10) KiB; give it with coffer set ID --file FILE" : nil
    }

    /// Takes a paste whole: a value as its bytes, lines and all (line breaks
    /// as LF); other answers one line of text. The reason when it is left out.
    func paste(_ pasted: Pasted) -> String? {
        guard masked else {
            guard let line = LineInput.oneLine(pasted) else {
                return pasted.truncated ? "the paste is too long for this answer; it was left out"
                    : "this answer is one line; the paste was left out"
            }
            guard text.count + line.count <= LineInput.plainLimit else { return "the paste is too long for this answer; it was left out" }
            text += line
            return nil
        }
        let bytes = pasted.bytes
        guard !pasted.truncated, secretCount + bytes.count <= secret.count else {
            overflowed = true
            return refusal
        }
        // Terminals send a pasted line break as CR (as the Enter key): each
        // CR, or CR LF, is stored as LF, the line break a file would have.
        secret.withUnsafeMutableBytes { target in
            bytes.withUnsafeBytes { source in
                var previous: UInt8 = 0
                for byte in source {
                    defer { previous = byte }
                    if byte == 0x0A && previous == 0x0D { continue }
                    target[secretCount] = byte == 0x0D ? 0x0A : byte
                    secretCount += 1
                }
                previous = 0
            }
        }
        return nil
    }

    /// A paste as one line of text (a line break at its end dropped), or nil
    /// when it holds more lines or other control characters.
    static func oneLine(_ pasted: Pasted) -> String? {
        var text = pasted.bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        while text.last == "\n" || text.last == "\r" || text.last == "\r\n" { text.removeLast() }
        guard !pasted.truncated, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return text
    }

    /// The masked value typed, in a wiped buffer of its own.
    func value() -> SecureBytes {
        secret.withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<secretCount])) }
    }

    /// What the bottom line shows: the label and the text, or for a masked
    /// value a note that typing is hidden.
    /// A plain answer longer than the line shows its end, where the typing is.
    func spans(width: Int) -> [Span] {
        let note: [Span] = self.note.map { [.text("  " + $0, [.bold, .red])] } ?? []
        if masked { return [.text(label, .bold), .text("(typing is hidden)", .dim)] + note }
        let room = max(width - label.count - 2 - (self.note.map { $0.count + 2 } ?? 0), 8)
        let shown = Redaction.shown(text)
        let tail = shown.count > room ? "…" + shown.suffix(room - 1) : shown
        return [.text(label, .bold), .text(tail), .text("▏")] + note
    }
}
