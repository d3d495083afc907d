/// The name of an environment variable coffer sets for a program: letters,
/// digits and `_`, not starting with a digit (POSIX's portable names), so
/// that a shell can read it and no name can smuggle an `=` into an entry.
public struct EnvironmentName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// A name as typed (`--map`, `--file`, `--env`, `--only`); lower case is
    /// allowed, since it is the user's choice.
    public init(_ text: String) throws {
        guard let first = text.utf8.first, !EnvironmentName.isDigit(first),
              text.utf8.allSatisfy({ EnvironmentName.isNameByte($0) }) else {
            throw SecretEnvironmentError.invalidName(text)
        }
        value = text
    }

    /// The name a secret gets from its id: the last segment, upper-cased,
    /// each byte outside `[A-Z0-9_]` (`.` and `-`, all an id may hold
    /// besides) becoming `_`, and `_` in front of a leading digit:
    /// `prod/db/db-url` → `DB_URL`, `app/2fa.seed` → `_2FA_SEED`.
    public init(deriving id: SecretID) {
        let segment = id.value.split(separator: "/").last.map(String.init) ?? id.value
        var bytes = segment.utf8.map { byte -> UInt8 in
            let upper = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
            return EnvironmentName.isNameByte(upper) ? upper : UInt8(ascii: "_")
        }
        if let first = bytes.first, EnvironmentName.isDigit(first) { bytes.insert(UInt8(ascii: "_"), at: 0) }
        value = String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { value }

    public static func < (a: EnvironmentName, b: EnvironmentName) -> Bool { a.value < b.value }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
