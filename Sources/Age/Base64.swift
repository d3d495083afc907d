import CSodium

/// Standard-alphabet base64 as age uses it. Decoding is strict: any character
/// outside the alphabet, any non-zero unused bit, and (for the unpadded form)
/// any `=` is rejected, because age requires canonical encodings so that a
/// header has exactly one byte representation.
public enum Base64 {
    public static func encode(_ bytes: UnsafeRawBufferPointer, padded: Bool) -> String {
        let variant = padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING
        let capacity = sodium_base64_encoded_len(bytes.count, variant)
        return String(unsafeUninitializedCapacity: capacity) { out in
            out.withMemoryRebound(to: CChar.self) { chars in
                _ = sodium_bin2base64(chars.baseAddress!, capacity, bytes.baseAddress, bytes.count, variant)
            }
            return capacity - 1  // without the terminating NUL
        }
    }

    public static func encode<C: Collection>(_ bytes: C, padded: Bool = false) -> String where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { encode($0, padded: padded) }
    }

    /// True for the standard alphabet and `=`: what may reach libsodium's
    /// decoder, which reads its input as signed char.
    public static func isAlphabet(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Returns nil unless `text` is the canonical encoding of some byte string.
    public static func decode<C: Collection>(_ text: C, padded: Bool = false) -> [UInt8]? where C.Element == UInt8 {
        var chars = Array(text)
        // The text may encode a key (a plugin's file-key body): the copy is wiped.
        defer { chars.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } } }
        if chars.isEmpty { return [] }
        // libsodium 1.0.18 reads input as signed char, so a byte like 0xAF
        // sign-extends and compares equal to '/': without this check, bytes
        // outside the alphabet would decode as if they were in it.
        guard chars.allSatisfy(isAlphabet) else { return nil }
        if padded && chars.count % 4 != 0 { return nil }
        if !padded && chars.count % 4 == 1 { return nil }
        let variant = padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING
        var out = [UInt8](repeating: 0, count: chars.count / 4 * 3 + 3)
        var written = 0
        // With a nil end pointer libsodium fails unless the whole input is consumed,
        // and it rejects non-zero trailing bits: both are what canonical means.
        let rc = chars.withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { c in
                sodium_base642bin(&out, out.count, c.baseAddress, c.count, nil, &written, nil, variant)
            }
        }
        guard rc == 0 else { return nil }
        out.removeSubrange(written...)
        return out
    }
}
