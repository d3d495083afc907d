/// Why `coffer exec` runs nothing: each case names ids, prefixes and
/// variable names, never a value.
public enum SecretEnvironmentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a portable environment variable name (as typed: it is public input).
    case invalidName(String)
    /// Two or more secrets would set one variable.
    case clashes([NameClash])
    /// Secrets that are not there or not readable, all of them at once.
    case unavailable([UnavailableSecret])
    /// Values an environment variable cannot carry (a NUL byte ends it).
    case holdsNUL(ids: [SecretID])
    /// Values longer than one environment variable can be (128 KiB on Linux).
    case tooLongForVariable(ids: [SecretID])

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "'\(name)' is not a valid environment variable name (letters, digits and _, not starting with a digit)"
        case .clashes(let clashes):
            return clashes.map(\.description).joined(separator: "; ")
        case .unavailable(let list):
            return "nothing was run; missing or unreadable: " + list.map(\.description).joined(separator: ", ")
        case .holdsNUL(let ids):
            return "the value of \(ids.map(\.value).joined(separator: ", ")) holds a NUL byte, which an environment variable cannot carry"
        case .tooLongForVariable(let ids):
            return "the value of \(ids.map(\.value).joined(separator: ", ")) is longer than an environment variable can be (128 KiB)"
        }
    }
}

/// One variable that two or more secrets would set.
public struct NameClash: Equatable, Sendable, CustomStringConvertible {
    public let name: EnvironmentName
    public let bindings: [SecretBinding]

    public var description: String {
        "\(name) would be set by \(bindings.count) secrets: " + bindings.map { "\($0.id) (\($0.origin))" }.joined(separator: ", ")
    }
}

/// Something asked for that yields no value.
public enum UnavailableSecret: Equatable, Sendable, CustomStringConvertible {
    case missing(SecretID)
    case unreadable(SecretID)
    /// A prefix with no secret under it (a typo, or an empty scope).
    case emptyPrefix(Prefix)
    /// A name kept by `only` that no secret asked for has.
    case unmatchedName(EnvironmentName)

    public var description: String {
        switch self {
        case .missing(let id): return "\(id) (no such secret)"
        case .unreadable(let id): return "\(id) (not readable by your identity)"
        case .emptyPrefix(let prefix): return "prefix \(prefix) (no secrets under it)"
        case .unmatchedName(let name): return "\(name) (no secret asked for has that name)"
        }
    }
}
