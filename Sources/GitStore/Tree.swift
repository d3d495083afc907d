import CGit2

/// A tree object (one directory of a commit), parsed from its raw bytes as
/// libgit2 parses one: entries in the order stored, each mode normalized as
/// `git_tree_entry_filemode` gives it (and kept as written, for writing back).
struct Tree {
    let id: ObjectID
    private(set) var entries: [Entry] = []
    /// False when two entries share a name or are out of git's order (git
    /// fsck rejects such a tree): a lookup by name (the first, as git's)
    /// and a comparison in order could then see different entries, so
    /// such a tree is never rewritten, and comparing it holds the commit.
    private(set) var isOrdered = true

    init(_ id: ObjectID, in repository: GitRepository) throws {
        try self.init(id, bytes: repository.readObject(id, as: .tree))
    }

    /// The tree `id` holding `bytes` (a tree object's content).
    init(_ id: ObjectID, bytes: [UInt8]) throws {
        self.id = id
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
            guard at > start, mode <= UInt32(UInt16.max), let nul = bytes[(at + 1)...].firstIndex(of: 0), nul > at + 1,
                  nul - at - 1 <= Int(UInt16.max), nul + 21 <= bytes.count else { throw malformed }
            let rawName = Array(bytes[(at + 1)..<nul])
            let entry = Entry(name: String(decoding: rawName, as: UTF8.self), id: ObjectID(rawBytes: bytes[(nul + 1)..<(nul + 21)])!,
                              mode: Tree.normalized(mode), rawMode: mode, rawName: rawName)
            if let last = entries.last, !Tree.precedes(last, entry) { isOrdered = false }
            if entry.isTree, repeatsName(of: entry) { isOrdered = false }
            entries.append(entry)
            at = nul + 21
        }
    }

    /// git's entry order (see `order`); equal names (two entries of one name) are out of order.
    static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        order(a.rawName[...], a.isTree, b.rawName[...], b.isTree) < 0
    }

    /// git's entry order: names compared bytewise, a tree's as if it ended in "/".
    static func order(_ x: ArraySlice<UInt8>, _ xIsTree: Bool, _ y: ArraySlice<UInt8>, _ yIsTree: Bool) -> Int {
        let common = min(x.count, y.count)
        for k in 0..<common where x[x.startIndex + k] != y[y.startIndex + k] {
            return Int(x[x.startIndex + k]) - Int(y[y.startIndex + k])
        }
        let c1 = x.count > common ? x[x.startIndex + common] : xIsTree ? UInt8(ascii: "/") : 0
        let c2 = y.count > common ? y[y.startIndex + common] : yIsTree ? UInt8(ascii: "/") : 0
        return Int(c1) - Int(c2)
    }

    /// True when an entry before `tree` (about to be added), not itself a
    /// tree, has its name: git fsck's duplicateEntries, which git's order
    /// does not put side by side (a file "X" sorts as "X\0", a tree as
    /// "X/", and "X.a" between them). Every entry between the two starts
    /// with "X", so the look back stops at the first that does not.
    private func repeatsName(of tree: Entry) -> Bool {
        for other in entries.reversed() {
            guard other.rawName.starts(with: tree.rawName) else { return false }
            if other.rawName.count == tree.rawName.count { return true }
        }
        return false
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
        /// The name as text (lossy for a name that is no UTF-8; see `rawName`).
        let name: String
        let id: ObjectID
        /// As `git_tree_entry_filemode` gives it.
        let mode: UInt32
        /// As written, which a rewrite of the tree keeps (as libgit2's tree builder does).
        let rawMode: UInt32
        let rawName: [UInt8]

        var isTree: Bool { mode == GIT_FILEMODE_TREE.rawValue }
        /// A regular file (executable or not); excludes symlinks and submodules.
        var isFile: Bool { mode == GIT_FILEMODE_BLOB.rawValue || mode == GIT_FILEMODE_BLOB_EXECUTABLE.rawValue }
    }
}
