import CGit2

/// A tree object (one directory of a commit), parsed from its raw bytes as
/// libgit2 parses one: entries in the order stored, each mode normalized as
/// `git_tree_entry_filemode` gives it.
struct Tree {
    private(set) var entries: [Entry] = []

    init(_ id: ObjectID, in repository: GitRepository) throws {
        let bytes = try repository.readObject(id, as: .tree)
        var at = 0
        while at < bytes.count {
            // "MODE NAME\0" and 20 raw id bytes; the mode is octal, read as
            // libgit2 reads it (strtol: an optional sign, then digits).
            let malformed = GitError.corruptObject("tree \(id.hex): malformed entry")
            var negative = false
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
                negative = bytes[at] == UInt8(ascii: "-")
                at += 1
            }
            var mode: UInt32 = 0
            let start = at
            while at < bytes.count, (0x30...0x37).contains(bytes[at]) {
                guard mode <= UInt32(UInt16.max) else { throw malformed }
                mode = mode << 3 | UInt32(bytes[at] - 0x30)
                at += 1
            }
            guard !negative || mode == 0, at < bytes.count, bytes[at] == 0x20 else { throw malformed }
            guard at > start, mode <= UInt32(UInt16.max),
                  let nul = bytes[(at + 1)...].firstIndex(of: 0), nul > at + 1, nul + 21 <= bytes.count else { throw malformed }
            let name = String(decoding: bytes[(at + 1)..<nul], as: UTF8.self)
            entries.append(Entry(name: name, id: ObjectID(rawBytes: bytes[(nul + 1)..<(nul + 21)])!, mode: Tree.normalized(mode),
                                 rawName: Array(bytes[(at + 1)..<nul])))
            at = nul + 21
        }
    }

    /// The root tree of `commit`.
    init(of commit: ObjectID, in repository: GitRepository) throws {
        try self.init(Commit(commit, in: repository).treeID, in: repository)
    }

    var count: Int { entries.count }

    /// The entry at `index` (0..<count), in tree order.
    func entry(at index: Int) -> Entry? {
        entries.indices.contains(index) ? entries[index] : nil
    }

    /// The direct entry called `name`, or nil.
    func entry(named name: String) -> Entry? {
        let wanted = Array(name.utf8)
        return entries.first { $0.rawName == wanted }
    }

    /// The entry at a "/"-separated `path` below this tree (read from
    /// `repository`), or nil if absent or a directory on the way is not one.
    func entry(atPath path: String, in repository: GitRepository) throws -> Entry? {
        var tree = self
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            guard let entry = tree.entry(named: String(part)) else { return nil }
            if index == parts.count - 1 { return entry }
            guard entry.isTree else { return nil }
            tree = try Tree(entry.id, in: repository)
        }
        return nil
    }

    /// libgit2's `normalize_filemode`: tree bits make a tree; any execute bit
    /// an executable file; then a submodule, a symlink, else a file.
    static func normalized(_ mode: UInt32) -> UInt32 {
        let type = mode & 0o170000
        if type == GIT_FILEMODE_TREE.rawValue { return GIT_FILEMODE_TREE.rawValue }
        if mode & 0o100 != 0 { return GIT_FILEMODE_BLOB_EXECUTABLE.rawValue }
        if type == GIT_FILEMODE_COMMIT.rawValue { return GIT_FILEMODE_COMMIT.rawValue }
        if type == GIT_FILEMODE_LINK.rawValue { return GIT_FILEMODE_LINK.rawValue }
        return GIT_FILEMODE_BLOB.rawValue
    }

    /// One entry's facts.
    struct Entry {
        let name: String
        let id: ObjectID
        let mode: UInt32
        let rawName: [UInt8]

        var isTree: Bool { mode == GIT_FILEMODE_TREE.rawValue }
        /// A regular file (executable or not); excludes symlinks and submodules.
        var isFile: Bool { mode == GIT_FILEMODE_BLOB.rawValue || mode == GIT_FILEMODE_BLOB_EXECUTABLE.rawValue }
    }
}
