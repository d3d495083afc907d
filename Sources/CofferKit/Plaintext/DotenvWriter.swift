import Age

extension Dotenv {
    /// `KEY='value'` lines, one per entry, in the order given. A value goes in
    /// single quotes, literal for every common reader, unless it holds `'`,
    /// `\`, a line feed or a carriage return; then in double quotes with
    /// `\\`, `\"`, `\n` and `\r` escaped, which python-dotenv and docker
    /// compose read back. `$` is written as it is (docs/BUNDLES.md says why).
    /// A key that is not a dotenv name, or a value that is not UTF-8, is
    /// refused, naming the key.
    public static func encode(_ entries: [PlaintextEntry]) throws -> SecureBytes {
        var out = ValueBuffer(capacity: entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 4 })
        for (key, value) in entries {
            guard isName(key) else { throw PlaintextError.notDotenvKey(key) }
            guard UTF8Text.isValid(value) else { throw PlaintextError.valueNotUTF8(key: key) }
            out.append(ascii: key)
            out.append("=")
            value.withUnsafeBytes { appendQuoted($0, to: &out) }
            out.append("\n")
        }
        return out.finish()
    }

    /// A value as `encode` quotes it (`coffer render` quotes a reference
    /// that is a line's whole value the same way).
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout ValueBuffer) {
        guard bytes.contains(where: { $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") || $0 == 0x0A || $0 == 0x0D }) else {
            out.append("'")
            out.append(bytes)
            out.append("'")
            return
        }
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
    }

    /// `[A-Za-z_][A-Za-z0-9_.]*`: a name docker compose and the dotenv
    /// loaders all take (a shell, without the dots).
    public static func isName(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return key.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}
