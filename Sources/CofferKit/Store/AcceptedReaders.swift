import Age
import Posix

/// The readers this clone has agreed to, per scope: `.git/coffer/accepted-readers`.
///
/// Anyone who can push can change a `.recipients` file, and a pulled line
/// must not become read access: coffer seals only for readers this clone
/// accepted (at `init`, through its own `recipients` commands, or by an
/// explicit `recipients accept` after a person looked). The file lives
/// under `.git`, so no push can reach it.
struct AcceptedReaders: Equatable, Sendable {
    static let fileName = "coffer/accepted-readers"

    /// Each accepted scope and the readers accepted there.
    var scopes: [Scope: [NamedRecipient]]

    /// The accepted readers in force for `directory`: its own entry or the
    /// nearest one above (a new sub-scope with the same readers as its parent
    /// changes nothing anyone can read).
    func baseline(for directory: Scope) -> (scope: Scope, readers: [NamedRecipient])? {
        var dir: Scope? = directory
        while let d = dir {
            if let readers = scopes[d] { return (d, readers) }
            dir = d.parent
        }
        return nil
    }

    /// With `readers` accepted for each given scope.
    func accepting(_ changes: [Scope: [NamedRecipient]]) -> AcceptedReaders {
        AcceptedReaders(scopes: scopes.merging(changes) { _, new in new })
    }

    // MARK: - The file

    private static let header = """
        # The readers this clone of the vault has accepted, per scope: coffer seals
        # only for these. Changed by coffer init, coffer recipients add|rm and
        # coffer recipients accept; not part of the vault's history.

        """

    /// Lines of `<scope> TAB <key> TAB <name>`; the root scope is written `/`.
    var text: String {
        var text = AcceptedReaders.header
        for scope in scopes.keys.sorted() {
            for reader in scopes[scope]! {
                text += "\(scope)\t\(reader.recipient.encoded)\t\(reader.name ?? "")\n"
            }
        }
        return text
    }

    /// Parses the file; a scope listed with no readers keeps an empty list.
    init(parsing text: String, path: String) throws {
        var scopes: [Scope: [NamedRecipient]] = [:]
        // Split as bytes: every write command reads this file twice, and
        // splitting by Character cost ~60,000 instructions a line. Coffer
        // writes "\n" alone; a carriage return is refused, not kept.
        let bytes = Array(text.utf8)
        for (n, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard !line.isEmpty, line.first != UInt8(ascii: "#") else { continue }
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !line.contains(UInt8(ascii: "\r")),
                  let scope = try? Scope(String(decoding: fields[0], as: UTF8.self)),
                  let key = try? ReaderKey(parsing: String(decoding: fields[1], as: UTF8.self))
            else { throw VaultError.invalidAcceptedReaders(path: path, line: n + 1) }
            let reader = NamedRecipient(recipient: key, name: fields[2].isEmpty ? nil : String(decoding: fields[2], as: UTF8.self))
            scopes[scope, default: []].append(reader)
        }
        self.scopes = scopes
    }

    init(scopes: [Scope: [NamedRecipient]]) { self.scopes = scopes }

    /// The accepted readers of the clone at `gitDirectory`, or nil when it
    /// has none yet (a clone coffer has not used since it began keeping them).
    static func load(gitDirectory: String) throws -> AcceptedReaders? {
        let path = gitDirectory + "/" + fileName
        return try CloneFile.read(fileName, gitDirectory: gitDirectory).map { text in
            try parsed.value(path: path, text: text) { try AcceptedReaders(parsing: $0, path: path) }
        }
    }

    private static let parsed = ParsedText<AcceptedReaders>()

    func save(gitDirectory: String) throws {
        try CloneFile.write(text, to: AcceptedReaders.fileName, gitDirectory: gitDirectory)
    }
}
