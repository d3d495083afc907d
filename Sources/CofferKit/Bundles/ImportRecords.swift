/// `.imported` at the vault root, committed: for each signer principal and
/// exported prefix, the creation time of the newest bundle imported. An
/// older bundle (a replay, or one delivered late) is refused against it.
/// Keyed by principal, not key, so rotating a signing key does not reset it.
struct ImportRecords: Equatable, Sendable {
    static let fileName = ".imported"

    struct Key: Hashable, Sendable {
        let signer: String
        let prefix: String
    }

    private(set) var newest: [Key: String] = [:]

    init() {}

    init(parsing text: String) throws {
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty && !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty, Manifest.isTimestamp(fields[2]) else {
                throw BundleError.recordsMalformed(line: n + 1)
            }
            newest[Key(signer: fields[0], prefix: fields[1])] = fields[2]
        }
    }

    func newest(signer: String, prefix: Prefix) -> String? { newest[Key(signer: signer, prefix: prefix.description)] }

    mutating func record(signer: String, prefix: Prefix, created: String) {
        let key = Key(signer: signer, prefix: prefix.description)
        if newest[key].map({ $0 < created }) ?? true { newest[key] = created }
    }

    var text: String {
        var text = "# The newest bundle imported per signer and prefix (coffer import refuses older ones).\n"
        for key in newest.keys.sorted(by: { ($0.signer, $0.prefix) < ($1.signer, $1.prefix) }) {
            text += "\(key.signer)\t\(key.prefix)\t\(newest[key]!)\n"
        }
        return text
    }
}
