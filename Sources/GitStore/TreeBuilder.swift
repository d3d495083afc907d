import CGit2

/// One directory being edited in memory, as libgit2's tree builder edits
/// one: it starts as a copy of an existing tree's entries (or empty) and
/// writes a new tree object — entries in git's order — without touching the
/// index or work tree.
final class TreeBuilder {
    private let repository: GitRepository
    private var entries: [String: Tree.Entry] = [:]

    init(_ repository: GitRepository, from source: Tree?) {
        self.repository = repository
        for entry in source?.entries ?? [] where entries[entry.name] == nil { entries[entry.name] = entry }
    }

    var count: Int { entries.count }

    func entry(_ name: String) -> Tree.Entry? { entries[name] }

    /// Adds or replaces `name`. Refused as libgit2 refuses them: a name that
    /// is empty, ".", "..", holds "/" or NUL, or is ".git" in any case or
    /// NTFS spelling; an object the repository lacks.
    func insert(_ name: String, _ id: ObjectID, mode: git_filemode_t) throws {
        guard TreeBuilder.isValid(name) else {
            throw GitError.call(function: "git_treebuilder_insert", code: -1,
                                message: "failed to insert entry: invalid name for a tree entry - \(name)")
        }
        guard mode == GIT_FILEMODE_COMMIT || (try? repository.readObject(id)) != nil else {
            throw GitError.call(function: "git_treebuilder_insert", code: -1,
                                message: "failed to insert entry: invalid object specified - \(name)")
        }
        entries[name] = Tree.Entry(name: name, id: id, mode: mode.rawValue, rawName: Array(name.utf8))
    }

    /// Removes `name`; absent is fine.
    func remove(_ name: String) {
        entries[name] = nil
    }

    /// Writes the tree: entries sorted as git sorts them (a tree's name as
    /// if it ended in "/"), each "MODE NAME\0" and its raw id.
    func write() throws -> ObjectID {
        let sorted = entries.values.map { ($0, $0.rawName + ($0.isTree ? [0x2f] : [])) }
            .sorted { $0.1.lexicographicallyPrecedes($1.1) }
        var bytes: [UInt8] = []
        for (entry, _) in sorted {
            bytes += Array(String(entry.mode, radix: 8).utf8)
            bytes.append(0x20)
            bytes += entry.rawName
            bytes.append(0)
            bytes += entry.id.bytes
        }
        return try repository.writeObject(.tree, bytes)
    }

    static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(0x2f), !name.utf8.contains(0) else { return false }
        let lower = name.lowercased()
        var trimmed = Substring(lower)
        while let last = trimmed.last, last == "." || last == " " { trimmed = trimmed.dropLast() }
        return trimmed != ".git" && !lower.hasPrefix("git~1") && !lower.hasPrefix(".git:")
    }
}
