import Age
import CGit2

/// A git object name (SHA-1). Names content, never reveals it: blobs hold
/// sealed files only, so an id is safe to print and log.
public struct ObjectID: Hashable, Sendable, CustomStringConvertible {
    /// The 20 raw bytes.
    public let bytes: [UInt8]

    /// Parses 40 hexadecimal digits (either case); nil for anything else.
    public init?(hex: String) {
        self.init(hexDigits: Array(hex.utf8)[...])
    }

    /// Parses 40 hexadecimal digits given as bytes (no String on hot paths).
    init?(hexDigits digits: ArraySlice<UInt8>) {
        let digits = Array(digits)
        guard digits.count == 40 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        for index in stride(from: 0, to: 40, by: 2) {
            guard let high = ObjectID.nibble(digits[index]), let low = ObjectID.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// The id from its 20 raw bytes, as git's binary formats hold them; nil for any other count.
    public init?<Raw: Collection<UInt8>>(rawBytes raw: Raw) {
        guard raw.count == 20 else { return nil }
        bytes = Array(raw)
    }

    /// Lowercase hexadecimal, as git prints it.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    init(_ oid: git_oid) {
        var oid = oid
        bytes = withUnsafeBytes(of: &oid.id) { Array($0) }
    }

    /// Lends the id as a libgit2 `git_oid`.
    func withOID<R>(_ body: (UnsafePointer<git_oid>) throws -> R) rethrows -> R {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { $0.copyBytes(from: bytes) }
        return try body(&oid)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension Optional where Wrapped == ObjectID {
    /// Lends the id as a `git_oid`, or NULL when there is none.
    func withOID<R>(_ body: (UnsafePointer<git_oid>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let id): return try id.withOID { try body($0) }
        case .none: return try body(nil)
        }
    }
}
