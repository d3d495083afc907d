/// A directory of the vault whose `.recipients` names readers: the root
/// (written `/`) or a path such as `prod/db`. Rendered in one place, so no
/// caller trims slashes or special-cases the root by hand.
public struct Scope: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The directory relative to the vault root; empty for the root.
    public let directory: String

    /// The root directory of the vault, written `/`.
    public static let root = Scope(validated: "")

    init(validated directory: String) { self.directory = directory }

    /// Parses a scope as users write it: `/`, `prod`, `prod/`, `/prod/db`.
    /// Segments follow the secret-id rules, so a scope never leaves the vault.
    public init(_ text: String) throws {
        try Text.refuseSecretKey(text, as: "the scope")
        var dir = Substring(text)
        while dir.hasPrefix("/") { dir = dir.dropFirst() }
        while dir.hasSuffix("/") { dir = dir.dropLast() }
        if !dir.isEmpty {
            do {
                _ = try SecretID(String(dir))
            } catch VaultError.invalidID(_, let reason) {
                throw VaultError.invalidScope(text, reason: reason)
            }
        }
        directory = String(dir)
    }

    /// True for the root.
    public var isRoot: Bool { directory.isEmpty }

    /// `/` for the root, else the directory.
    public var description: String { isRoot ? "/" : directory }

    /// The path of a file in this directory, relative to the vault root.
    func file(_ name: String) -> String { isRoot ? name : directory + "/" + name }

    /// The scope's `.recipients`, relative to the vault root.
    var recipientsPath: String { file(RecipientsFile.fileName) }

    /// The directory above, or nil at the root.
    var parent: Scope? {
        guard !isRoot else { return nil }
        guard let slash = directory.lastIndex(of: "/") else { return .root }
        return Scope(validated: String(directory[..<slash]))
    }

    /// The directory holding `id`'s file: where the search for its readers starts.
    static func of(_ id: SecretID) -> Scope { Scope(validated: id.directory) }

    /// Sorted by directory: the root first.
    public static func < (a: Scope, b: Scope) -> Bool { a.directory < b.directory }
}

/// A whole-segment prefix of secret ids: `prod` selects `prod` and
/// `prod/…`, never `production`. The empty prefix selects everything.
public struct Prefix: Hashable, Sendable, CustomStringConvertible {
    /// Without a trailing slash; empty for everything.
    public let path: String

    /// Every id.
    public static let all = Prefix(validated: "")

    init(validated path: String) { self.path = path }

    /// Parses a prefix as users write it (`prod`, `prod/`); segments follow the id rules.
    public init(_ text: String) throws {
        try Text.refuseSecretKey(text, as: "the prefix")
        var trimmed = Substring(text)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if !trimmed.isEmpty { _ = try SecretID(String(trimmed)) }
        path = String(trimmed)
    }

    /// True for the empty prefix.
    public var isAll: Bool { path.isEmpty }

    /// `/` for everything, else the prefix.
    public var description: String { isAll ? "/" : path }

    /// True when `id` is the prefix itself or lies below it.
    public func contains(_ id: SecretID) -> Bool { contains(path: id.value) }

    /// True when the scope's directory is inside the prefix, or the prefix inside it.
    func overlaps(_ scope: Scope) -> Bool { contains(path: scope.directory) || Prefix(validated: scope.directory).contains(path: path) }

    func contains(path other: String) -> Bool { path.isEmpty || other == path || other.hasPrefix(path + "/") }
}
