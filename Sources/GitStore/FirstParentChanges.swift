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
        var found: [FileChange] = []
        try compare(old.map { try RawTree($0, self) }, new.map { try RawTree($0, self) }, base: [], suffix: Array(suffix.utf8),
                    depth: 0, into: &found)
        return found
    }

    /// `GitRepository.changedFiles(named:from:to:)` compared this way: a
    /// write judges its own commit, which changes one file of a scope's
    /// hundreds, and pairing names through dictionaries cost a millisecond.
    /// Nil when a tree on the way is not in git's order (a hostile push):
    /// the caller pairs names as that function does.
    public func changedFiles(named names: Set<String>, from old: ObjectID?, to new: ObjectID?) throws -> [FileChange]? {
        var found: [FileChange] = []
        guard try compare(old.map { try RawTree($0, self) }, new.map { try RawTree($0, self) }, base: [], names: names,
                          depth: 0, into: &found) else { return nil }
        return found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// One pass over both trees, as below; false when one is out of order.
    private func compare(_ old: RawTree?, _ new: RawTree?, base: [UInt8], names: Set<String>, depth: Int,
                         into found: inout [FileChange]) throws -> Bool {
        guard depth <= GitRepository.maxTreeDepth else { return true }
        guard old?.isOrdered ?? true, new?.isOrdered ?? true else { return false }
        let none: [RawTree.Entry] = []
        let before = old?.entries ?? none, after = new?.entries ?? none
        var i = 0, j = 0
        while i < before.count || j < after.count {
            let order = i == before.count ? 1 : j == after.count ? -1 : RawTree.order(before[i], old!, after[j], new!)
            let a = order <= 0 ? before[i] : nil, b = order >= 0 ? after[j] : nil
            if order <= 0 { i += 1 }
            if order >= 0 { j += 1 }
            if let a, let b, a.kind == b.kind, old!.sameID(a, as: b, in: new!) { continue }
            let name = a.map { old!.name($0) } ?? new!.name(b!)
            let oldTree = a.flatMap { $0.kind == .tree ? old!.id($0) : nil }, newTree = b.flatMap { $0.kind == .tree ? new!.id($0) : nil }
            if oldTree != nil || newTree != nil {
                guard try compare(try oldTree.map { try RawTree($0, self) }, try newTree.map { try RawTree($0, self) },
                                  base: base + name + [UInt8(ascii: "/")], names: names, depth: depth + 1, into: &found) else { return false }
            }
            guard names.contains(String(decoding: name, as: UTF8.self)) else { continue }
            let oldBlob = a.flatMap { $0.kind == .file ? old!.id($0) : nil }, newBlob = b.flatMap { $0.kind == .file ? new!.id($0) : nil }
            let odd = a?.kind == .other || b?.kind == .other
            if oldBlob != newBlob || odd {
                found.append(FileChange(path: String(decoding: base + name, as: UTF8.self), old: oldBlob, new: newBlob, otherKind: odd))
            }
        }
        return true
    }

    private func compare(_ old: RawTree?, _ new: RawTree?, base: [UInt8], suffix: [UInt8], depth: Int,
                         into found: inout [FileChange]) throws {
        // Deeper than any id goes: nothing there is a sealed file, as in `changedFiles(named:)`.
        guard depth <= GitRepository.maxTreeDepth else { return }
        for (tree, id) in [(old, old?.objectID), (new, new?.objectID)] where tree?.isOrdered == false {
            throw GitError.call(function: "git_odb_read", code: -1, message: "tree \(id!.hex) is not in git's order")
        }
        let none: [RawTree.Entry] = []
        let before = old?.entries ?? none, after = new?.entries ?? none
        var i = 0, j = 0
        while i < before.count || j < after.count {
            let order = i == before.count ? 1 : j == after.count ? -1 : RawTree.order(before[i], old!, after[j], new!)
            let a = order <= 0 ? before[i] : nil, b = order >= 0 ? after[j] : nil
            if order <= 0 { i += 1 }
            if order >= 0 { j += 1 }
            if let a, let b, a.kind == b.kind, old!.sameID(a, as: b, in: new!) { continue }
            let name = a.map { old!.name($0) } ?? new!.name(b!)
            let oldTree = a.flatMap { $0.kind == .tree ? old!.id($0) : nil }, newTree = b.flatMap { $0.kind == .tree ? new!.id($0) : nil }
            if oldTree != nil || newTree != nil {
                try compare(try oldTree.map { try RawTree($0, self) }, try newTree.map { try RawTree($0, self) },
                            base: base + name + [UInt8(ascii: "/")], suffix: suffix, depth: depth + 1, into: &found)
            }
            guard name.count > suffix.count, name.suffix(suffix.count).elementsEqual(suffix) else { continue }
            let oldBlob = a.flatMap { $0.kind == .file ? old!.id($0) : nil }, newBlob = b.flatMap { $0.kind == .file ? new!.id($0) : nil }
            // A path that is no UTF-8 names no id; it is left out rather than decoded lossily.
            guard oldBlob != newBlob, let path = String(validating: base + name, as: UTF8.self) else { continue }
            found.append(FileChange(path: path, old: oldBlob, new: newBlob, otherKind: false))
        }
    }
}

/// A tree object as read from the object database, its entries located
/// but not decoded; freed in deinit.
private final class RawTree {
    enum Kind { case tree, file, other }

    struct Entry {
        let name: Range<Int>
        let id: Int
        let kind: Kind
    }

    private let lib: LibGit2
    private let object: OpaquePointer
    private let bytes: UnsafeRawBufferPointer
    let objectID: ObjectID
    private(set) var entries: [Entry] = []
    /// False when its entries are not in git's order (git fsck rejects
    /// such a tree), where a lookup by name could find another entry than
    /// a comparison in order does.
    private(set) var isOrdered = true

    init(_ id: ObjectID, _ walker: PathWalker) throws {
        lib = walker.lib
        var object: OpaquePointer?
        try id.withOID { oid in try walker.lib.check(walker.lib.odbRead(&object, walker.odb, oid), "git_odb_read") }
        guard let object else { throw GitError.call(function: "git_odb_read", code: -1, message: "no object") }
        self.object = object
        objectID = id
        bytes = UnsafeRawBufferPointer(start: lib.odbObjectData(object), count: lib.odbObjectSize(object))
        try parse(id)
    }

    deinit { lib.odbObjectFree(object) }

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
            let entry = Entry(name: start..<end, id: end + 1, kind: RawTree.kind(mode))
            if let last = entries.last, RawTree.order(last, self, entry, self) >= 0 { isOrdered = false }
            entries.append(entry)
            at = end + 21
        }
    }

    /// libgit2's reading of a mode (`normalize_filemode`): a tree, an
    /// executable or plain file, or something else (a link, a submodule).
    private static func kind(_ mode: UInt32) -> Kind {
        let type = mode & 0o170000
        if type == 0o040000 { return .tree }
        if mode & 0o111 != 0 { return .file }
        return type == 0o160000 || type == 0o120000 ? .other : .file
    }

    /// git's entry order: names compared bytewise, a tree's as if it ended in "/".
    static func order(_ a: Entry, _ aTree: RawTree, _ b: Entry, _ bTree: RawTree) -> Int {
        let x = aTree.bytes, y = bTree.bytes
        let common = min(a.name.count, b.name.count)
        for k in 0..<common where x[a.name.lowerBound + k] != y[b.name.lowerBound + k] {
            return Int(x[a.name.lowerBound + k]) - Int(y[b.name.lowerBound + k])
        }
        let c1 = a.name.count > common ? x[a.name.lowerBound + common] : a.kind == .tree ? UInt8(ascii: "/") : 0
        let c2 = b.name.count > common ? y[b.name.lowerBound + common] : b.kind == .tree ? UInt8(ascii: "/") : 0
        return Int(c1) - Int(c2)
    }

    func sameID(_ a: Entry, as b: Entry, in other: RawTree) -> Bool {
        (0..<20).allSatisfy { bytes[a.id + $0] == other.bytes[b.id + $0] }
    }

    func name(_ entry: Entry) -> [UInt8] { Array(bytes[entry.name]) }

    func id(_ entry: Entry) -> ObjectID { ObjectID(rawBytes: bytes[entry.id..<entry.id + 20])! }
}
