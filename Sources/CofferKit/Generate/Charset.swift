#if canImport(Glibc)
import Glibc
#endif

/// The alphabets `coffer generate` draws from. Every symbol of a value is
/// drawn uniformly and independently, so a value of N symbols from an
/// alphabet of size S carries exactly N·log2(S) bits of entropy.
public enum Charset: String, CaseIterable, Sendable {
    /// A–Z, a–z, 0–9: 62 symbols, 5.95 bits each.
    case alnum
    /// alnum and the 32 ASCII punctuation marks ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``:
    /// all 94 printable ASCII characters but space, 6.55 bits each.
    case symbols
    /// 0–9, a–f: 4 bits each.
    case hex
    /// The standard base64 alphabet (A–Z, a–z, 0–9, `+`, `/`), 6 bits each:
    /// text in that alphabet, not the encoding of bytes (no padding).
    case base64
    /// Words of the EFF large wordlist (7,776 words, 12.9 bits each).
    case words

    /// The characters of a character set (nil for `words`).
    var alphabet: [UInt8]? {
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        let digits = Array("0123456789".utf8)
        switch self {
        case .alnum: return letters + digits
        case .symbols: return letters + digits + Array(##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##.utf8)
        case .hex: return Array("0123456789abcdef".utf8)
        case .base64: return letters + digits + Array("+/".utf8)
        case .words: return nil
        }
    }

    /// How many symbols (characters or words) each draw chooses among.
    var symbolCount: Int { alphabet?.count ?? WordList.eff.count }

    /// Bits of entropy per symbol.
    public var bitsPerSymbol: Double { log2(Double(symbolCount)) }
}
