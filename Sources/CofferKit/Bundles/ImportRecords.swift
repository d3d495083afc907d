import GitStore

/// `.imported` at the vault root, committed: for each signer principal and
/// exported prefix, the creation time of the newest bundle imported. A
/// bundle not newer than every record of its signer for a prefix that
/// overlaps its own (the same, above or below: `app` covers `app/db`) is
/// refused — a replay, or one delivered late that would roll values back.
/// Keyed by principal, not key, so rotating a signing key does not reset it.
struct ImportRecords: Equatable, Sendable {
    static let fileName = ".imported"

    /// One imported bundle: who signed it, for which prefix, made when.
    struct Entry: Equatable, Sendable {
        let signer: String
        let prefix: Prefix
        let created: String
    }

    private struct Key: Hashable, Sendable {
        let signer: String
        let prefix: Prefix
    }

    private var newest: [Key: String] = [:]

    init() {}

    init(parsing text: String) throws {
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty && !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty, Manifest.isTimestamp(fields[2]),
                  let prefix = fields[1] == "/" ? Prefix.all : try? Prefix(fields[1])
            else { throw BundleError.recordsMalformed(line: n + 1) }
            newest[Key(signer: fields[0], prefix: prefix)] = fields[2]
        }
    }

    /// The records HEAD holds (never the work tree, which a link or FIFO
    /// could stand in for); none when HEAD has no `.imported`.
    static func committed(in repo: GitRepository, at head: ObjectID?) throws -> ImportRecords {
        guard let head, let blob = try repo.blob(at: fileName, in: head) else { return ImportRecords() }
        let bytes = try repo.readBlob(blob)
        guard bytes.count <= 1 << 20 else { throw BundleError.recordsMalformed(line: 0) }
        return try ImportRecords(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Refuses `entry` unless it is newer than every record of its signer
    /// for an overlapping prefix.
    func refuseReplay(of entry: Entry) throws {
        let overlapping = newest.filter { key, _ in
            key.signer == entry.signer && (key.prefix.contains(path: entry.prefix.path) || entry.prefix.contains(path: key.prefix.path))
        }
        guard let (key, time) = overlapping.max(by: { $0.value < $1.value }), entry.created <= time else { return }
        throw BundleError.older(signer: entry.signer, prefix: key.prefix.description, created: entry.created, newest: time)
    }

    mutating func record(_ entry: Entry) {
        let key = Key(signer: entry.signer, prefix: entry.prefix)
        if newest[key].map({ $0 < entry.created }) ?? true { newest[key] = entry.created }
    }

    var text: String {
        var text = "# The newest bundle imported per signer and prefix (coffer import refuses older ones).\n"
        for key in newest.keys.sorted(by: { ($0.signer, $0.prefix.path) < ($1.signer, $1.prefix.path) }) {
            text += "\(key.signer)\t\(key.prefix)\t\(newest[key]!)\n"
        }
        return text
    }
}
