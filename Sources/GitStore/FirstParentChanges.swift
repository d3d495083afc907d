import CGit2

/// What the history index reads of a first-parent chain: commits back to
/// one already known, and the files that differ between two root trees,
/// compared straight from the raw tree objects so that unchanged subtrees
/// (same id) are skipped and no entry name is decoded unless it changed.
extension PathWalker {
    /// The first-parent chain from `start`, newest first, each commit with
    /// its root tree, ending with the first commit `isKnown` accepts; when
    /// none does, the whole chain down to the root commit.
    public func chain(from start: ObjectID, until isKnown: (ObjectID) -> Bool) throws -> [(commit: ObjectID, tree: ObjectID)] {
        var result: [(ObjectID, ObjectID)] = []
        var next: ObjectID? = start
        while let id = next {
            let link = try self.link(id)
            result.append((id, link.tree))
            if isKnown(id) { break }
            next = link.parent
        }
        return result
    }

    /// The root tree of `commit`.
    public func tree(of commit: ObjectID) throws -> ObjectID {
        try link(commit).tree
    }

    /// The root tree and first parent of `commit`.
    public func link(of commit: ObjectID) throws -> (tree: ObjectID, parent: ObjectID?) {
        try link(commit)
    }

    /// The regular files whose name ends with `suffix` that differ between
    /// root trees `old` and `new` (nil: empty), as `blob(at:inTree:)` reads
    /// them: a side where the path is not a regular file is nil. Throws
    /// for a tree whose entries are not in git's order (git fsck rejects
    /// one), where a lookup by name could find another entry than this
    /// comparison does.
    public func changedFiles(endingWith suffix: String, from old: ObjectID?, to new: ObjectID?) throws -> [FileChange] {
        let suffix = Array(suffix.utf8)
        var found: [FileChange] = []
        let unordered = try walk(old.map { try RawTree($0, self) }, new.map { try RawTree($0, self) }, base: [], depth: 0) { base, name, before, after in
            guard name.count > suffix.count, name.suffix(suffix.count).elementsEqual(suffix) else { return }
            let oldBlob = before?.kind == .file ? before?.id : nil, newBlob = after?.kind == .file ? after?.id : nil
            // A path that is no UTF-8 names no id; it is left out rather than decoded lossily.
            guard oldBlob != newBlob, let path = String(validating: base + name, as: UTF8.self) else { return }
            found.append(FileChange(path: path, old: oldBlob, new: newBlob, otherKind: false))
        }
        if let unordered { throw GitError.call(function: "git_odb_read", code: -1, message: "tree \(unordered.hex) is not in git's order") }
        return found
    }

    /// `GitRepository.changedFiles(named:from:to:)` compared this way: a
    /// write judges its own commit, which changes one file of a scope's
    /// hundreds, and pairing names through dictionaries cost a millisecond.
    /// Nil when a tree on the way is not in git's order (a hostile push):
    /// the caller pairs names as that function does.
    public func changedFiles(named names: Set<String>, from old: ObjectID?, to new: ObjectID?) -> [FileChange]? {
        var found: [FileChange] = []
        // A tree this reader refuses (a mode libgit2 reads and it does not)
        // is left to the pairing comparison too, which also reports any
        // other failure itself.
        let unordered: ObjectID?
        do {
            unordered = try walk(old.map { try RawTree($0, self) }, new.map { try RawTree($0, self) }, base: [], depth: 0) { base, name, before, after in
                guard names.contains(String(decoding: name, as: UTF8.self)) else { return }
                let oldBlob = before?.kind == .file ? before?.id : nil, newBlob = after?.kind == .file ? after?.id : nil
                let odd = before?.kind == .other || after?.kind == .other
                if oldBlob != newBlob || odd {
                    found.append(FileChange(path: String(decoding: base + name, as: UTF8.self), old: oldBlob, new: newBlob, otherKind: odd))
                }
            }
        } catch {
            return nil
        }
        guard unordered == nil else { return nil }
        return found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// One side of a name whose entries differ.
    private struct Side {
        let kind: RawTree.Kind
        let id: ObjectID
    }

    /// One pass over two trees in git's order: each name whose entries
    /// differ goes to `visit` (its directory's path, the name, each side or
    /// nil), after the subtrees under it were walked; subtrees with the
    /// same id on both sides are never read. Stops at a tree out of git's
    /// order and returns its id: git fsck rejects one, and a lookup by name
    /// could find another entry there than this walk does.
    private func walk(_ old: RawTree?, _ new: RawTree?, base: [UInt8], depth: Int,
                      visit: ([UInt8], [UInt8], Side?, Side?) throws -> Void) throws -> ObjectID? {
        // Deeper than any vault path goes: nothing there is a file coffer reads.
        guard depth <= GitRepository.maxTreeDepth else { return nil }
        if let old, !old.isOrdered { return old.objectID }
        if let new, !new.isOrdered { return new.objectID }
        let none: [RawTree.Entry] = []
        let before = old?.entries ?? none, after = new?.entries ?? none
        var i = 0, j = 0
        while i < before.count || j < after.count {
            let order = i == before.count ? 1 : j == after.count ? -1 : RawTree.order(before[i], old!, after[j], new!)
            let a = order <= 0 ? before[i] : nil, b = order >= 0 ? after[j] : nil
            if order <= 0 { i += 1 }
            if order >= 0 { j += 1 }
            if let a, let b, a.mode == b.mode, old!.sameID(a, as: b, in: new!) { continue }
            let name = a.map { old!.name($0) } ?? new!.name(b!)
            let oldSide = a.map { Side(kind: $0.kind, id: old!.id($0)) }, newSide = b.map { Side(kind: $0.kind, id: new!.id($0)) }
            let oldTree = oldSide?.kind == .tree ? oldSide?.id : nil, newTree = newSide?.kind == .tree ? newSide?.id : nil
            if oldTree != nil || newTree != nil {
                if let unordered = try walk(try oldTree.map { try RawTree($0, self) }, try newTree.map { try RawTree($0, self) },
                                            base: base + name + [UInt8(ascii: "/")], depth: depth + 1, visit: visit) {
                    return unordered
                }
            }
            try visit(base, name, oldSide, newSide)
        }
        return nil
    }
}

/// A tree object as read from the object database, its entries located
/// but not decoded.
private final class RawTree {
    enum Kind { case tree, file, other }

    struct Entry {
        let name: Range<Int>
        let id: Int
        /// As written (octal), for telling two entries apart.
        let mode: UInt32
        let kind: Kind
    }

    private let bytes: [UInt8]
    let objectID: ObjectID
    private(set) var entries: [Entry] = []
    /// False when its entries are not in git's order (git fsck rejects
    /// such a tree), where a lookup by name could find another entry than
    /// a comparison in order does.
    private(set) var isOrdered = true

    init(_ id: ObjectID, _ walker: PathWalker) throws {
        objectID = id
        bytes = try walker.repository.readObject(id, as: .tree)
        try parse(id)
    }

    /// Entries are "MODE NAME\0" and 20 raw id bytes; the mode is octal.
    private func parse(_ id: ObjectID) throws {
        var at = 0
        let malformed = GitError.call(function: "git_odb_read", code: -1, message: "malformed tree \(id.hex)")
        while at < bytes.count {
            var mode: UInt32 = 0
            while at < bytes.count, bytes[at] != UInt8(ascii: " ") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[at]) else { throw malformed }
                mode = mode << 3 | UInt32(bytes[at] - UInt8(ascii: "0"))
                at += 1
            }
            let start = at + 1
            var end = start
            while end < bytes.count, bytes[end] != 0 { end += 1 }
            guard end < bytes.count, end > start, end + 21 <= bytes.count else { throw malformed }
            let entry = Entry(name: start..<end, id: end + 1, mode: mode, kind: RawTree.kind(mode))
            if let last = entries.last, RawTree.order(last, self, entry, self) >= 0 { isOrdered = false }
            if entry.kind == .tree, repeatsName(of: entry) { isOrdered = false }
            entries.append(entry)
            at = end + 21
        }
    }

    /// A tree, a regular file, or something else (a link, a submodule),
    /// as git reads a mode: a link's or submodule's type wins over any
    /// execute bit (libgit2 1.5 reads 120100 as an executable file). Such
    /// an entry is never a secret, and a trust file of that shape is held.
    private static func kind(_ mode: UInt32) -> Kind {
        let type = mode & 0o170000
        if type == 0o040000 { return .tree }
        return type == 0o160000 || type == 0o120000 ? .other : .file
    }

    /// True when an entry before `tree` (about to be added), not itself a
    /// tree, has its name: git fsck's duplicateEntries, which git's order
    /// does not put side by side (a file "X" sorts as "X\0", a tree as
    /// "X/", and "X.a" between them). Every entry between the two starts
    /// with "X", so the look back stops at the first that does not.
    private func repeatsName(of tree: Entry) -> Bool {
        let name = bytes[tree.name]
        for other in entries.reversed() {
            guard other.name.count >= name.count, bytes[other.name.prefix(name.count)].elementsEqual(name) else { return false }
            if other.name.count == name.count { return true }
        }
        return false
    }

    /// git's entry order (`Tree.order`).
    static func order(_ a: Entry, _ aTree: RawTree, _ b: Entry, _ bTree: RawTree) -> Int {
        Tree.order(aTree.bytes[a.name], a.kind == .tree, bTree.bytes[b.name], b.kind == .tree)
    }

    func sameID(_ a: Entry, as b: Entry, in other: RawTree) -> Bool {
        (0..<20).allSatisfy { bytes[a.id + $0] == other.bytes[b.id + $0] }
    }

    func name(_ entry: Entry) -> [UInt8] { Array(bytes[entry.name]) }

    func id(_ entry: Entry) -> ObjectID { ObjectID(rawBytes: bytes[entry.id..<entry.id + 20])! }
}
