import Age

/// A bundle's table of contents, the text its signature covers. Canonical:
/// one way to write each manifest, so parsing re-encodes to the same bytes
/// or the manifest is refused. A header, a blank line, then one line per
/// entry in `sha256sum` format, sorted by path:
///
///     coffer-bundle: 1
///     source-vault: <the vault's first commit>
///     source-commit: <the commit exported>
///     created: 2026-11-28T08:30:00.123Z
///     prefix: prod
///     signer: alice
///     recipient: <fingerprint>            (one per destination recipient)
///     size: 412 secrets/prod/db.age       (one per entry)
///
///     <sha256 hex>  secrets/prod/db.age
struct Manifest: Equatable, Sendable {
    static let version = "1"
    static let entryDirectory = "secrets/"

    struct Entry: Equatable, Sendable {
        let id: SecretID
        let size: Int
        let sha256: String

        var path: String { Manifest.entryDirectory + id.relativePath }
    }

    var sourceVault: String
    var sourceCommit: String
    /// UTC, milliseconds: `YYYY-MM-DDTHH:MM:SS.mmmZ`, which sorts as it orders.
    var created: String
    var prefix: Prefix
    /// The exporter's principal, or "-" for an unsigned bundle.
    var signer: String
    var recipients: [String]
    var entries: [Entry]

    var text: String {
        var text = "coffer-bundle: \(Manifest.version)\nsource-vault: \(sourceVault)\nsource-commit: \(sourceCommit)\n"
        text += "created: \(created)\nprefix: \(prefix)\nsigner: \(signer)\n"
        for recipient in recipients { text += "recipient: \(recipient)\n" }
        for entry in entries { text += "size: \(entry.size) \(entry.path)\n" }
        text += "\n"
        for entry in entries { text += "\(entry.sha256)  \(entry.path)\n" }
        return text
    }

    init(sourceVault: String, sourceCommit: String, created: String, prefix: Prefix, signer: String,
         recipients: [String], entries: [Entry]) {
        self.sourceVault = sourceVault
        self.sourceCommit = sourceCommit
        self.created = created
        self.prefix = prefix
        self.signer = signer
        self.recipients = recipients
        self.entries = entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Parses a manifest, refusing anything that is not exactly as coffer
    /// writes it (the signature covers these bytes; a second spelling of the
    /// same content would only give an attacker room).
    init(parsing bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard Array(text.utf8) == bytes, let split = text.firstRange(of: "\n\n") else { throw BundleError.manifestMalformed }
        var fields: [(String, String)] = []
        for line in text[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstRange(of: ": ") else { throw BundleError.manifestMalformed }
            fields.append((String(line[..<colon.lowerBound]), String(line[colon.upperBound...])))
        }
        func take(_ key: String) throws -> String {
            guard let first = fields.first, first.0 == key else { throw BundleError.manifestMalformed }
            fields.removeFirst()
            return first.1
        }
        guard try take("coffer-bundle") == Manifest.version else { throw BundleError.unsupportedVersion }
        sourceVault = try take("source-vault")
        sourceCommit = try take("source-commit")
        created = try take("created")
        guard Manifest.isTimestamp(created) else { throw BundleError.manifestMalformed }
        let prefixText = try take("prefix")
        prefix = prefixText == "/" ? .all : try Prefix(prefixText)
        signer = try take("signer")
        recipients = []
        while fields.first?.0 == "recipient" { recipients.append(try take("recipient")) }
        var sizes: [(path: String, size: Int)] = []
        while fields.first?.0 == "size" {
            let value = try take("size")
            guard let space = value.firstIndex(of: " "), let size = Int(value[..<space]), size >= 0 else { throw BundleError.manifestMalformed }
            sizes.append((String(value[value.index(after: space)...]), size))
        }
        guard fields.isEmpty else { throw BundleError.manifestMalformed }
        let digestLines = text[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard digestLines.count == sizes.count else { throw BundleError.manifestMalformed }
        entries = []
        for (line, sized) in zip(digestLines, sizes) {
            let parts = line.split(separator: "  ", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1] == sized.path, parts[0].utf8.count == 64,
                  parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                  sized.path.hasPrefix(Manifest.entryDirectory),
                  let id = SecretID(relativePath: String(sized.path.dropFirst(Manifest.entryDirectory.count))),
                  prefix.contains(id)
            else { throw BundleError.manifestMalformed }
            entries.append(Entry(id: id, size: sized.size, sha256: String(parts[0])))
        }
        // Canonical: sorted, no duplicates, and re-encoding gives the same bytes.
        guard Set(entries.map(\.id)).count == entries.count, Array(self.text.utf8) == bytes else { throw BundleError.manifestMalformed }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func isTimestamp(_ text: String) -> Bool {
        let shape = Array("0000-00-00T00:00:00.000Z".utf8), bytes = Array(text.utf8)
        return bytes.count == shape.count && zip(bytes, shape).allSatisfy { byte, want in
            want == UInt8(ascii: "0") ? (0x30...0x39).contains(byte) : byte == want
        }
    }
}
