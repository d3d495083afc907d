import Age

extension Dotenv {
    /// `KEY='value'` lines, one per entry, in the order given, quoted as
    /// `appendQuoted` quotes, so the file is safe to source with a POSIX
    /// shell and reads back the same here. A key that is not a dotenv name,
    /// a value that is not UTF-8, or one no quoting keeps inert, is refused,
    /// naming the key.
    public static func encode(_ entries: [PlaintextEntry]) throws -> SecureBytes {
        var out = ValueBuffer(capacity: entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 4 })
        for (key, value) in entries {
            guard isName(key) else { throw PlaintextError.notDotenvKey(key) }
            guard UTF8Text.isValid(value) else { throw PlaintextError.valueNotUTF8(key: key) }
            out.append(ascii: key)
            out.append("=")
            guard value.withUnsafeBytes({ appendQuoted($0, to: &out) }) else { throw PlaintextError.notQuotableForShell(key: key) }
            out.append("\n")
        }
        return out.finish()
    }

    /// Appends a value quoted for both dotenv readers and `set -a; . FILE`,
    /// or appends nothing and returns false when no quoting serves both.
    /// Single quotes, literal for sh and every dotenv reader, unless the
    /// value holds `'`, `\`, a line feed or a carriage return; then double
    /// quotes with `\\`, `\"`, `\n` and `\r` escaped, which python-dotenv,
    /// docker compose and coffer read back. Inside double quotes sh still
    /// expands `$` and backticks, and escaping them would change the value
    /// for dotenv readers (which keep `\$` as written), so such a value is
    /// refused. (`coffer render` quotes a line's whole value the same way.)
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout ValueBuffer) -> Bool {
        guard bytes.contains(where: { $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") || $0 == 0x0A || $0 == 0x0D }) else {
            out.append("'")
            out.append(bytes)
            out.append("'")
            return true
        }
        guard !bytes.contains(where: { $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "`") }) else { return false }
        out.append("\"")
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): out.append("\\\\")
            case UInt8(ascii: "\""): out.append("\\\"")
            case 0x0A: out.append("\\n")
            case 0x0D: out.append("\\r")
            default: out.append(byte)
            }
        }
        out.append("\"")
        return true
    }

    /// Whether `byte` may stand unquoted inside a longer value (`coffer
    /// render`'s `URL=https://${coffer:ID}@host`): `[A-Za-z0-9@%+=:,./_-]`.
    /// None of them means anything to sh, bare or in either quote (no `$`,
    /// backtick, `\`, quote, blank, `;|&<>()`, glob, or the `~` an
    /// assignment expands), nor to a dotenv reader (no `#`, quote, `\` or
    /// line break), so the template's own quoting decides how the line
    /// reads, whatever the value.
    static func isInert(_ byte: UInt8) -> Bool {
        isLetter(byte) || (byte >= 0x30 && byte <= 0x39) || inertPunctuation.utf8.contains(byte)
    }

    static let inertPunctuation = "@%+=:,./_-"

    /// Why `appendQuoted` refuses a value (for the errors that name it).
    static let notQuotableReason = "holds '$' or '`' as well as a quote, backslash or line break, which a shell sourcing the file would expand"

    /// `[A-Za-z_][A-Za-z0-9_.]*`: a name docker compose and the dotenv
    /// loaders all take (a shell, without the dots).
    public static func isName(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return key.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}
