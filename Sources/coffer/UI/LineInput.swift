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
    static let maskedLimit = 64 << 10

    init(_ label: String, text: String = "", masked: Bool = false) {
        self.label = label
        self.masked = masked
        self.text = masked ? "" : text
        secret = SecureBytes(count: masked ? LineInput.maskedLimit : 0)
    }

    /// Takes an editing key; false for keys it does not edit with.
    func edit(_ key: Key) -> Bool {
        switch key {
        case .character(let scalar):
            if masked {
                var utf8: [UInt8] = []
                UTF8.encode(scalar) { utf8.append($0) }
                guard secretCount + utf8.count <= secret.count else { return true }
                secret.withUnsafeMutableBytes { for (i, b) in utf8.enumerated() { $0[secretCount + i] = b } }
                secretCount += utf8.count
                for i in utf8.indices { utf8[i] = 0 }
            } else {
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
        default:
            return false
        }
        return true
    }

    /// The masked value typed, in a wiped buffer of its own.
    func value() -> SecureBytes {
        secret.withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<secretCount])) }
    }

    /// What the bottom line shows: the label and the text, or for a masked
    /// value a note that typing is hidden.
    var spans: [Span] {
        masked ? [.text(label, .bold), .text("(typing is hidden)", .dim)] : [.text(label, .bold), .text(text), .text("▏")]
    }
}
