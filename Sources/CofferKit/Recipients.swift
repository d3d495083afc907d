import Age

/// A reader of a scope: a public key and the name written beside it.
public struct NamedRecipient: Equatable, Sendable {
    public let recipient: X25519Recipient
    public let name: String?

    public init(recipient: X25519Recipient, name: String?) {
        self.recipient = recipient
        self.name = name
    }

    /// A short public fingerprint (SHA-256 of the key, first 8 bytes, hex),
    /// recorded in each sealed file so verify can tell who can read what.
    public var fingerprint: String { Fingerprint.of(recipient) }
}

enum Fingerprint {
    static func of(_ recipient: X25519Recipient) -> String {
        Digest.sha256(recipient.publicKey).prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

/// A `.recipients` file: one `age1…` key per line, `# name` after it, `#`
/// comment lines. The nearest one up the tree governs every secret below it.
public struct RecipientsFile: Equatable, Sendable {
    public static let fileName = ".recipients"

    public var entries: [NamedRecipient]

    public init(entries: [NamedRecipient]) { self.entries = entries }

    /// Lines end at LF only (an optional CR before it is dropped): other line
    /// separators (VT, FF, NEL, U+2028) would let a key hide inside what
    /// `git diff` shows as a comment, so any control character is refused.
    public init(parsing text: String, path: String) throws {
        var entries: [NamedRecipient] = []
        for (n, rawBytes) in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var bytes = rawBytes[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }),
                  !String(decoding: bytes, as: UTF8.self).unicodeScalars.contains(where: { $0.properties.isWhitespace && $0.value > 0x7F })
            else { throw VaultError.invalidRecipientsFile(path: path, line: n + 1) }
            let raw = Substring(String(decoding: bytes, as: UTF8.self))
            let parts = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimming(" \t\r")
            if key.isEmpty { continue }
            let name = parts.count > 1 ? parts[1].trimming(" \t\r") : ""
            guard let recipient = try? X25519Recipient(parsing: key) else {
                throw VaultError.invalidRecipientsFile(path: path, line: n + 1)
            }
            entries.append(NamedRecipient(recipient: recipient, name: name.isEmpty ? nil : name))
        }
        self.entries = entries
    }

    public var text: String {
        entries.map { $0.recipient.encoded + ($0.name.map { " # \($0)" } ?? "") + "\n" }.joined()
    }
}

extension StringProtocol {
    /// Without the given characters at either end.
    func trimming(_ characters: String) -> String {
        var s = self[...]
        while let f = s.first, characters.contains(f) { s = s.dropFirst() }
        while let l = s.last, characters.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
