/// One key press, decoded from the bytes a terminal sends in raw mode.
public enum Key: Equatable, Sendable {
    /// A printable character (never a control character).
    case character(Unicode.Scalar)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, backspace, delete, tab, escape
    /// Ctrl with a letter: `.control("c")` for Ctrl-C.
    case control(Character)
}

/// Turns raw-mode input into keys: UTF-8 characters, C0 controls and the
/// CSI / SS3 sequences of cursor and editing keys (xterm, tmux, the Linux
/// console). Sequences it does not know are dropped whole, never read as
/// the characters they are made of.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The keys in `bytes`, one read's worth. A lone ESC at the end of a read
    /// is the Escape key (terminals send a sequence in one write); an
    /// incomplete UTF-8 character waits for the next read.
    public mutating func keys(from bytes: [UInt8]) -> [Key] {
        pending += bytes
        var keys: [Key] = []
        var at = 0
        while at < pending.count {
            let byte = pending[at]
            switch byte {
            case 0x1B:
                guard let (key, length) = Self.escapeSequence(pending, at) else {
                    keys.append(.escape)
                    at += 1
                    continue
                }
                if let key { keys.append(key) }
                at += length
            case 0x0D, 0x0A: keys.append(.enter); at += 1
            case 0x7F, 0x08: keys.append(.backspace); at += 1
            case 0x09: keys.append(.tab); at += 1
            case 0x01...0x1A: keys.append(.control(Character(Unicode.Scalar(byte + 0x60)))); at += 1
            case 0x00...0x1F: at += 1
            case 0x20...0x7E: keys.append(.character(Unicode.Scalar(byte))); at += 1
            default:
                // A lead byte's length; a stray continuation or invalid byte is skipped alone.
                let length = (0xC2...0xDF).contains(byte) ? 2 : (0xE0...0xEF).contains(byte) ? 3 : (0xF0...0xF4).contains(byte) ? 4 : 1
                let available = pending[(at + 1)..<min(at + length, pending.count)]
                if let bad = available.firstIndex(where: { $0 & 0xC0 != 0x80 }) {
                    at = bad
                    continue
                }
                guard at + length <= pending.count else {
                    pending.removeFirst(at)
                    return keys
                }
                var decoded = String(decoding: pending[at..<at + length], as: UTF8.self).unicodeScalars.makeIterator()
                if length > 1, let scalar = decoded.next(), scalar != "\u{FFFD}", scalar.value >= 0xA0 {
                    keys.append(.character(scalar))
                }
                at += length
            }
        }
        pending.removeAll()
        return keys
    }

    /// The key an escape sequence at `start` stands for (nil inside: a
    /// sequence that is skipped) and its length; nil when the ESC stands alone.
    private static func escapeSequence(_ bytes: [UInt8], _ start: Int) -> (Key?, Int)? {
        guard start + 1 < bytes.count else { return nil }
        let introducer = bytes[start + 1]
        if introducer == UInt8(ascii: "O"), start + 2 < bytes.count {
            return (final(bytes[start + 2], parameter: nil), 3)
        }
        guard introducer == UInt8(ascii: "[") else { return nil }
        var at = start + 2
        var parameter = 0
        var sawParameter = false
        while at < bytes.count, (0x20...0x3F).contains(bytes[at]) {
            if (0x30...0x39).contains(bytes[at]), !sawParameter && parameter < 1000 {
                parameter = parameter * 10 + Int(bytes[at] - 0x30)
            } else if bytes[at] == UInt8(ascii: ";") {
                sawParameter = true
            }
            at += 1
        }
        guard at < bytes.count else { return (nil, bytes.count - start) }
        return (final(bytes[at], parameter: parameter), at + 1 - start)
    }

    private static func final(_ byte: UInt8, parameter: Int?) -> Key? {
        switch byte {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch parameter {
            case 1, 7: return .home
            case 3: return .delete
            case 4, 8: return .end
            case 5: return .pageUp
            case 6: return .pageDown
            default: return nil
            }
        default: return nil
        }
    }
}
