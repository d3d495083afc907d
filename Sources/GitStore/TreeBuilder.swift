import CGit2

/// One directory being edited in memory, as libgit2's tree builder edits
/// one: it starts as a copy of an existing tree's entries (or empty) and
/// writes a new tree object — entries in git's order, untouched ones with
/// the mode they were written with — without touching the index or work
/// tree. Names are matched byte for byte.
final class TreeBuilder {
    private let repository: GitRepository
    /// In git's order, names unique.
    private var entries: [Tree.Entry]

    /// Refuses a tree with two entries of one name or out of git's order:
    /// which of them a rewrite would keep is exactly what must not be guessed.
    init(_ repository: GitRepository, from source: Tree?) throws {
        self.repository = repository
        if let source, !source.isOrdered {
            throw GitError.corruptObject("tree \(source.id.hex) has two entries of one name or is out of git's order "
                                         + "(git fsck rejects it); coffer does not rewrite it")
        }
        entries = source?.entries ?? []
    }

    var count: Int { entries.count }

    func entry(_ name: String) -> Tree.Entry? {
        index(of: name).map { entries[$0] }
    }

    private func index(of name: String) -> Int? {
        let wanted = Array(name.utf8)
        return entries.firstIndex { $0.rawName == wanted }
    }

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
        remove(name)
        let entry = Tree.Entry(name: name, id: id, mode: mode.rawValue, rawMode: mode.rawValue, rawName: Array(name.utf8))
        let at = entries.firstIndex { Tree.precedes(entry, $0) } ?? entries.count
        entries.insert(entry, at: at)
    }

    /// Removes `name`; absent is fine.
    func remove(_ name: String) {
        if let at = index(of: name) { entries.remove(at: at) }
    }

    /// Writes the tree: each entry "MODE NAME\0" and its raw id.
    func write() throws -> ObjectID {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 64)
        for entry in entries {
            bytes += Array(String(entry.rawMode, radix: 8).utf8)
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
