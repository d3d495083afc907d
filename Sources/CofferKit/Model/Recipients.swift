import Age

/// A reader of a scope: a public key and the name written beside it.
public struct NamedRecipient: Equatable, Sendable {
    /// The reader's public key.
    public let recipient: ReaderKey
    /// The name written beside the key (`age1… # name`), if any.
    public let name: String?

    /// A reader as a `.recipients` line names it.
    public init(recipient: ReaderKey, name: String?) {
        self.recipient = recipient
        self.name = name
    }

    /// An X25519 reader.
    public init(recipient: X25519Recipient, name: String?) {
        self.init(recipient: .x25519(recipient), name: name)
    }

    /// A short public fingerprint (SHA-256 of the key, first 8 bytes, hex),
    /// recorded in each sealed file so verify can tell who can read what.
    public var fingerprint: String { Fingerprint.of(recipient) }

    /// Refuses a name that cannot stand on its key's `.recipients` line: a
    /// pasted key, or a line break (a `.pub` comment running on, say), which
    /// would write a second reader no one was shown.
    func checkName() throws {
        guard let name else { return }
        // Shown by every listing: never a private key.
        try Text.refuseSecretKey(name, as: "the reader's name")
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0.properties.isWhitespace && $0 != " " }) {
            throw VaultError.invalidReader("a reader's name cannot hold a line break, tab or other control character")
        }
    }
}

enum Fingerprint {
    static func of(_ recipient: ReaderKey) -> String {
        Text.hex(Digest.sha256(recipient.fingerprintInput).prefix(8))
    }
}

/// A `.recipients` file: one key per line (`age1…`, or `ssh-ed25519 AAAA…`
/// with its comment as a name), `# name` after it, `#`
/// comment lines. The nearest one up the tree governs every secret below it.
/// Edits keep the other lines (comments, blank lines) as they were.
struct RecipientsFile: Equatable, Sendable {
    static let fileName = ".recipients"

    struct Line: Equatable, Sendable {
        var text: String
        var entry: NamedRecipient?
    }

    private var lines: [Line]

    var entries: [NamedRecipient] { lines.compactMap(\.entry) }

    init(entries: [NamedRecipient]) { lines = entries.map(RecipientsFile.line) }

    private static func line(_ reader: NamedRecipient) -> Line {
        Line(text: reader.recipient.encoded + (reader.name.map { " # \($0)" } ?? ""), entry: reader)
    }

    /// Lines end at LF only (an optional CR before it is dropped): other line
    /// separators (VT, FF, NEL, U+2028) would let a key hide inside what
    /// `git diff` shows as a comment, so any control character is refused.
    init(parsing text: String, path: String) throws {
        var rawLines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
        if rawLines.count > 1, rawLines.last?.isEmpty == true { rawLines.removeLast() }
        lines = []
        for (n, rawBytes) in rawLines.enumerated() {
            var bytes = rawBytes[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }),
                  !String(decoding: bytes, as: UTF8.self).unicodeScalars.contains(where: { $0.properties.isWhitespace && $0.value > 0x7F })
            else { throw VaultError.invalidRecipientsFile(path: path, line: n + 1) }
            let raw = Substring(String(decoding: bytes, as: UTF8.self))
            let parts = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimming(" \t\r")
            if key.isEmpty {
                lines.append(Line(text: String(raw), entry: nil))
                continue
            }
            var name = parts.count > 1 ? parts[1].trimming(" \t\r") : ""
            let recipient: ReaderKey
            do {
                // An SSH key line as a `.pub` file has it: `ssh-ed25519 AAAA… comment`,
                // the comment its name unless a `# name` follows.
                let parsed = try ReaderKey.parse(line: key)
                recipient = parsed.key
                if name.isEmpty, let comment = parsed.comment { name = comment }
            } catch VaultError.invalidReader(let reason) {
                throw VaultError.unsupportedReaderInFile(path: path, line: n + 1, reason: reason)
            } catch {
                throw VaultError.invalidRecipientsFile(path: path, line: n + 1)
            }
            lines.append(Line(text: String(raw), entry: NamedRecipient(recipient: recipient, name: name.isEmpty ? nil : name)))
        }
        if lines.count == 1, lines[0].text.isEmpty, lines[0].entry == nil { lines = [] }
    }

    var text: String { lines.map { $0.text + "\n" }.joined() }

    /// With `reader` on a line of its own at the end.
    func adding(_ reader: NamedRecipient) -> RecipientsFile {
        var copy = self
        copy.lines.append(RecipientsFile.line(reader))
        return copy
    }

    /// Without the lines of the readers `drop` accepts.
    func removing(where drop: (NamedRecipient) -> Bool) -> RecipientsFile {
        var copy = self
        copy.lines.removeAll { $0.entry.map(drop) == true }
        return copy
    }

    /// With `new` on the line of `old` (keeping its name unless `name` is given).
    func replacing(_ old: ReaderKey, with new: ReaderKey, name: String?) -> RecipientsFile {
        var copy = self
        copy.lines = lines.compactMap { line in
            guard let entry = line.entry else { return line }
            if entry.recipient == new { return nil }
            guard entry.recipient == old else { return line }
            return RecipientsFile.line(NamedRecipient(recipient: new, name: name ?? entry.name))
        }
        return copy
    }
}

extension Vault {
    /// The keys of a recipients list (`.recipients` syntax, as `age -R` reads
    /// a file of `age1…` lines): a bundle's destination.
    public static func recipients(parsing text: String, path: String) throws -> [ReaderKey] {
        try RecipientsFile(parsing: text, path: path).entries.map(\.recipient)
    }
}

extension StringProtocol {
    /// Without the given characters at either end.
    public func trimming(_ characters: String) -> String {
        var s = self[...]
        while let f = s.first, characters.contains(f) { s = s.dropFirst() }
        while let l = s.last, characters.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
