#if canImport(Glibc)
import Glibc
#endif
import Age

/// One key press, decoded from the bytes a terminal sends in raw mode.
public enum Key: Equatable {
    /// A printable character (never a control character).
    case character(Unicode.Scalar)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, backspace, delete, tab, escape
    /// Ctrl with a letter: `.control("c")` for Ctrl-C.
    case control(Character)
    /// Text pasted in one go (bracketed paste): never read as keys, so a
    /// pasted line cannot press Enter or type commands.
    case paste(Pasted)
}

/// What a bracketed paste held, in a wiped buffer (it may be a value).
public final class Pasted: Equatable {
    public let bytes: SecureBytes
    /// True when the paste was longer than `KeyDecoder.pasteLimit` and cut.
    public let truncated: Bool

    init(_ bytes: SecureBytes, truncated: Bool) {
        self.bytes = bytes
        self.truncated = truncated
    }

    public static func == (a: Pasted, b: Pasted) -> Bool { a === b }
}

/// Turns raw-mode input into keys: UTF-8 characters, C0 controls, the CSI /
/// SS3 sequences of cursor and editing keys (xterm, tmux, the Linux
/// console), and bracketed pastes. Sequences it does not know are dropped
/// whole, never read as the characters they are made of.
public struct KeyDecoder {
    private var pending: [UInt8] = []
    /// Inside a bracketed paste: what it held so far.
    private var paste: SecureBytes?
    /// After a paste cut short: its rest is dropped, up to its end marker
    /// or until the input falls quiet (`quiet()`), never read as keys.
    private var skippingPaste = false
    private var skipped: [UInt8] = []
    private var pasteCount = 0
    private var pasteOverflow = false

    public static let pasteLimit = 64 << 10
    private static let pasteEnd: [UInt8] = Array("\u{1B}[201~".utf8)

    public init() {}

    /// True when the bytes so far end inside an escape sequence (or a
    /// paste): more are probably on the way; `flush()` if none come.
    public var isWaiting: Bool { paste != nil || pending.first == 0x1B }
    public var isInPaste: Bool { paste != nil }
    /// True while the rest of a cut paste is being dropped.
    public var isSkipping: Bool { skippingPaste }

    /// The keys in `bytes`, one read's worth. An incomplete escape sequence
    /// or UTF-8 character waits for the next read (or `flush`).
    public mutating func keys(from bytes: [UInt8]) -> [Key] {
        var keys: [Key] = []
        var input = pending + bytes
        defer { KeyDecoder.wipe(&input) }
        KeyDecoder.wipe(&pending)
        pending = []
        var at = 0
        while at < input.count {
            if skippingPaste {
                skipped.append(input[at])
                if skipped.count > KeyDecoder.pasteEnd.count { skipped.removeFirst() }
                if skipped == KeyDecoder.pasteEnd { skippingPaste = false; skipped = [] }
                at += 1
                continue
            }
            if paste != nil {
                if let done = takePaste(input[at]) { keys.append(.paste(done)) }
                at += 1
                continue
            }
            let byte = input[at]
            switch byte {
            case 0x1B:
                switch Self.escapeSequence(input, at) {
                case .incomplete:
                    pending = Array(input[at...])
                    return keys
                case .lone:
                    keys.append(.escape)
                    at += 1
                case .pasteStart(let length):
                    paste = SecureBytes(count: KeyDecoder.pasteLimit + KeyDecoder.pasteEnd.count)
                    pasteCount = 0
                    pasteOverflow = false
                    at += length
                case .sequence(let key, let length):
                    if let key { keys.append(key) }
                    at += length
                }
            case 0x0D, 0x0A: keys.append(.enter); at += 1
            case 0x7F, 0x08: keys.append(.backspace); at += 1
            case 0x09: keys.append(.tab); at += 1
            case 0x01...0x1A: keys.append(.control(Character(Unicode.Scalar(byte + 0x60)))); at += 1
            case 0x00...0x1F: at += 1
            case 0x20...0x7E: keys.append(.character(Unicode.Scalar(byte))); at += 1
            default:
                // A lead byte's length; a stray continuation or invalid byte is skipped alone.
                let length = (0xC2...0xDF).contains(byte) ? 2 : (0xE0...0xEF).contains(byte) ? 3 : (0xF0...0xF4).contains(byte) ? 4 : 1
                let available = input[(at + 1)..<min(at + length, input.count)]
                if let bad = available.firstIndex(where: { $0 & 0xC0 != 0x80 }) {
                    at = bad
                    continue
                }
                guard at + length <= input.count else {
                    pending = Array(input[at...])
                    return keys
                }
                var decoded = String(decoding: input[at..<at + length], as: UTF8.self).unicodeScalars.makeIterator()
                if length > 1, let scalar = decoded.next(), scalar != "\u{FFFD}", scalar.value >= 0xA0 {
                    keys.append(.character(scalar))
                }
                at += length
            }
        }
        return keys
    }

    /// When no more bytes came in time: a pending ESC is the Escape key, an
    /// incomplete sequence or character is dropped, and an unfinished paste
    /// is dropped whole (it may be half a value), its rest with it when it comes.
    public mutating func flush() -> [Key] {
        defer { KeyDecoder.wipe(&pending); pending = [] }
        if paste != nil {
            paste = nil
            pasteCount = 0
            skippingPaste = true
            return []
        }
        return pending.first == 0x1B ? [.escape] : []
    }

    /// The input fell quiet: whatever a cut paste still had to send is over.
    public mutating func quiet() {
        skippingPaste = false
        skipped = []
    }

    /// Forgets what is pending (the terminal's input was flushed), keeping
    /// a cut paste's skipping.
    public mutating func discardPending() {
        KeyDecoder.wipe(&pending)
        pending = []
        paste = nil
        pasteCount = 0
    }

    /// One byte of a paste; the paste when this byte ended it.
    private mutating func takePaste(_ byte: UInt8) -> Pasted? {
        guard let paste else { return nil }
        let capacity = paste.count
        if pasteCount == capacity {
            // Full: keep the last bytes only, where the end marker will show.
            pasteOverflow = true
            paste.withUnsafeMutableBytes { buffer in
                let keep = KeyDecoder.pasteEnd.count - 1
                for i in 0..<keep { buffer[capacity - keep - 1 + i] = buffer[capacity - keep + i] }
            }
            pasteCount -= 1
        }
        paste.withUnsafeMutableBytes { $0[pasteCount] = byte }
        pasteCount += 1
        let end = KeyDecoder.pasteEnd
        guard pasteCount >= end.count,
              paste.withUnsafeBytes({ $0[(pasteCount - end.count)..<pasteCount].elementsEqual(end) }) else { return nil }
        self.paste = nil
        paste.truncate(to: min(pasteCount - end.count, KeyDecoder.pasteLimit))
        return Pasted(paste, truncated: pasteOverflow)
    }

    /// Zeroes a byte array in place before it is let go (typed values pass through).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { memset(base, 0, $0.count) } }
    }

    private enum Escape {
        case lone
        case incomplete
        case pasteStart(Int)
        /// A sequence and its length; nil for one that is skipped.
        case sequence(Key?, Int)
    }

    private static func escapeSequence(_ bytes: [UInt8], _ start: Int) -> Escape {
        guard start + 1 < bytes.count else { return .incomplete }
        let introducer = bytes[start + 1]
        if introducer == UInt8(ascii: "O") {
            guard start + 2 < bytes.count else { return .incomplete }
            return .sequence(final(bytes[start + 2], parameter: nil), 3)
        }
        // Alt (Meta) with a key: ESC and a printable byte together, ignored —
        // never an Escape that cancels, followed by a typed character.
        if (0x20...0x7E).contains(introducer) && introducer != UInt8(ascii: "[") { return .sequence(nil, 2) }
        guard introducer == UInt8(ascii: "[") else { return .lone }
        var at = start + 2
        // An old-style mouse report: ESC [ M and three bytes, all skipped.
        if at < bytes.count, bytes[at] == UInt8(ascii: "M") {
            return at + 3 < bytes.count ? .sequence(nil, 6) : .incomplete
        }
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
        guard at < bytes.count else { return .incomplete }
        if bytes[at] == UInt8(ascii: "~") && parameter == 200 { return .pasteStart(at + 1 - start) }
        return .sequence(final(bytes[at], parameter: parameter), at + 1 - start)
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
