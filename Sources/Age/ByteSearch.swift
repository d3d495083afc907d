/// Whether bytes hold a run of other bytes: a plain scan for the short
/// markers coffer looks for in keys, ids and identity files, where the
/// standard library's generic `firstRange(of:)` and Unicode views cost
/// far more than the search itself.
public enum ByteSearch {
    public static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        for start in 0...(haystack.count - needle.count) where haystack[start] == first {
            var offset = 1
            while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
            if offset == needle.count { return true }
        }
        return false
    }

    /// `text` in uppercase, as bytes, when it is ASCII (case folds byte by
    /// byte there); nil for other text, which needs Unicode's rules.
    public static func asciiUppercased(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard byte < 0x80 else { return nil }
            out.append(byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte)
        }
        return out
    }
}
