import CSodium

/// Bech32 (BIP 173) as age uses it: no length limit on the data part, and a
/// string must be all lowercase or all uppercase, with the checksum always
/// computed over the lowercase form. Public for the age plugin client, whose
/// recipients and identities (`age1NAME1…`, `AGE-PLUGIN-NAME-1…`) are Bech32 too.
public enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// The checksum state over `parts` in sequence; parts are not concatenated,
    /// so no unwiped copy of key-derived values is made.
    private static func polymod(_ parts: [UInt8]...) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = 1
        for part in parts { for v in part {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { chk ^= generator[i] }
        } }
        return chk
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    private static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out: [UInt8] = []
        // Reserved up front so the buffer never reallocates, leaving no unwiped copy behind.
        out.reserveCapacity(data.count * from / to + 1)
        let maxv = (1 << to) - 1
        for value in data {
            guard Int(value) >> from == 0 else { return nil }
            acc = (acc << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
            return nil
        }
        return out
    }

    /// Encodes `data` under `hrp` as bytes; uppercase when the HRP is. Returning
    /// bytes lets callers keep an encoded secret key in a wiped buffer.
    public static func encode(hrp: String, data: [UInt8]) -> [UInt8] {
        let upper = hrp.uppercased() == hrp && hrp.lowercased() != hrp
        let lowHRP = Array(hrp.lowercased().utf8)
        var values = convertBits(data, from: 8, to: 5, pad: true)!
        defer { wipe(&values) }
        let mod = polymod(expand(lowHRP), values, [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((mod >> UInt32(5 * (5 - $0))) & 31) }
        var out = lowHRP + [UInt8(ascii: "1")]
        out.reserveCapacity(out.count + values.count + 6)
        for v in values { out.append(charset[Int(v)]) }
        for v in checksum { out.append(charset[Int(v)]) }
        if upper { for i in out.indices where out[i] >= 97 && out[i] <= 122 { out[i] -= 32 } }
        return out
    }

    static func encodeString(hrp: String, data: [UInt8]) -> String {
        String(decoding: encode(hrp: hrp, data: data), as: UTF8.self)
    }

    /// Decodes Bech32; returns the HRP as written (callers check its case) and
    /// the data in a wiped buffer, or nil. Intermediates are wiped: it may be a key.
    public static func decode<C: Collection>(_ text: C) -> (hrp: String, data: SecureBytes)? where C.Element == UInt8 {
        var bytes = Array(text)
        defer { wipe(&bytes) }
        guard bytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let hasLower = bytes.contains { $0 >= 97 && $0 <= 122 }
        let hasUpper = bytes.contains { $0 >= 65 && $0 <= 90 }
        guard !(hasLower && hasUpper) else { return nil }
        var lower = bytes.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        defer { wipe(&lower) }
        guard let sep = lower.lastIndex(of: UInt8(ascii: "1")), sep >= 1, sep + 7 <= lower.count else { return nil }
        let hrp = Array(lower[..<sep])
        var values: [UInt8] = []
        defer { wipe(&values) }
        values.reserveCapacity(lower.count - sep - 1)
        for c in lower[(sep + 1)...] {
            guard reverse[Int(c)] >= 0 else { return nil }
            values.append(UInt8(reverse[Int(c)]))
        }
        guard polymod(expand(hrp), values) == 1 else { return nil }
        let checksumStart = values.count - 6
        for i in checksumStart..<values.count { values[i] = 0 }
        values.removeLast(6)  // in place: no copy
        guard var data = convertBits(values, from: 5, to: 8, pad: false) else { return nil }
        defer { wipe(&data) }
        return (String(decoding: bytes[..<sep], as: UTF8.self), SecureBytes(copying: data))
    }

    static func decode(_ text: String) -> (hrp: String, data: SecureBytes)? { decode(Array(text.utf8)) }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
    }
}
