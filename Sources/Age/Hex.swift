/// Lowercase hexadecimal, for names and digests (object ids, tokens,
/// fingerprints); never for secret bytes, which stay in wiped buffers.
public enum Hex {
    /// Non-generic on purpose: a generic function called across modules
    /// runs unspecialised, looking up protocol witnesses at run time.
    public static func encode(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let digits = Array("0123456789abcdef".utf8)
}
