/// A validated secret id such as `prod/db/password`: segments of
/// `[A-Za-z0-9._-]` joined by `/`, no empty, `.` or `..` segment, no segment
/// starting with `.` (reserved for vault metadata), at most 255 bytes, and no
/// segment over 251 bytes (with `.age` it must still be a valid file name).
/// Validation happens before any file is touched, so an id can never name a
/// path outside the vault or inside `.git`.
public struct SecretID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The longest id, in bytes.
    public static let maxLength = 255
    /// File names are limited to 255 bytes, and the last segment gains `.age`.
    public static let maxSegmentLength = 255 - 4
    /// What a sealed file adds to its id.
    public static let fileExtension = ".age"

    /// The id as text (validated).
    public let value: String

    /// Validates `text`; `VaultError.invalidID` says why it is refused.
    public init(_ text: String) throws {
        let bytes = Array(text.utf8)
        func reject(_ why: String) -> VaultError { .invalidID(text, reason: why) }
        try Text.refuseSecretKey(text, as: "the secret id")
        if let eq = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
            // Quote only the id part: what follows `=` is probably a value.
            throw VaultError.invalidID(String(text[..<eq]) + "=...", reason: "an id cannot contain '='; to store a value use coffer set ID=VALUE")
        }
        guard !bytes.isEmpty else { throw reject("empty") }
        guard bytes.count <= SecretID.maxLength else { throw reject("longer than \(SecretID.maxLength) bytes") }
        guard bytes.first != UInt8(ascii: "/") else { throw reject("must not start with /") }
        // Segment by segment over the bytes, without splitting: `list` checks every id.
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
            let segment = bytes[start..<end]
            // `a.age/b` would put a directory where the secret `a` keeps its file.
            if end < bytes.count && segment.count >= 4 && segment.suffix(4).elementsEqual(SecretID.fileExtension.utf8) {
                throw reject("only the last segment may end in .age")
            }
            guard !segment.isEmpty else { throw reject("empty segment") }
            guard segment.first != UInt8(ascii: ".") else {
                throw reject(segment.count <= 2 && segment.allSatisfy { $0 == UInt8(ascii: ".") }
                             ? "no . or .. segments" : "segments must not start with . (reserved)")
            }
            guard segment.count <= SecretID.maxSegmentLength else {
                throw reject("a segment is longer than \(SecretID.maxSegmentLength) bytes")
            }
            guard segment.allSatisfy(SecretID.isAllowed) else {
                throw reject("only letters, digits, '.', '_' and '-' are allowed in a segment")
            }
            start = end + 1
        }
        value = text
    }

    /// The id of a sealed file's path relative to the vault root, if it is one.
    public init?(relativePath: String) {
        guard relativePath.hasSuffix(SecretID.fileExtension) else { return nil }
        try? self.init(String(relativePath.dropLast(SecretID.fileExtension.count)))
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The sealed file's path relative to the vault root.
    public var relativePath: String { value + SecretID.fileExtension }

    /// The directory holding the file ("" at the root), i.e. where scope lookup starts.
    public var directory: String {
        guard let slash = value.lastIndex(of: "/") else { return "" }
        return String(value[..<slash])
    }

    /// The id itself.
    public var description: String { value }

    /// Sorted by text.
    public static func < (a: SecretID, b: SecretID) -> Bool { a.value < b.value }
}
