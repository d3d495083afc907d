import CGit2

/// A tree object (one directory of a commit), freed in deinit. Keeps its
/// repository alive, since libgit2 objects must not outlive it.
final class Tree {
    private let repository: GitRepository
    private let pointer: OpaquePointer
    private var lib: LibGit2 { repository.lib }

    init(_ id: ObjectID, in repository: GitRepository) throws {
        let lib = repository.lib
        self.repository = repository
        pointer = try repository.withHandle { repo in
            try id.withOID { oid in try lib.make("git_tree_lookup") { lib.treeLookup($0, repo, oid) } }
        }
    }

    /// The root tree of `commit`.
    convenience init(of commit: ObjectID, in repository: GitRepository) throws {
        try self.init(Commit(commit, in: repository).treeID, in: repository)
    }

    deinit { lib.treeFree(pointer) }

    var count: Int { lib.treeEntryCount(pointer) }

    /// The entry at `index` (0..<count), in tree order.
    func entry(at index: Int) -> Entry? {
        lib.treeEntryByIndex(pointer, index).map { Entry($0, lib) }
    }

    /// The entry at a "/"-separated `path` below this tree, or nil if absent.
    func entry(atPath path: String) throws -> Entry? {
        var out: OpaquePointer?
        let rc = lib.treeEntryByPath(&out, pointer, path)
        defer { lib.treeEntryFree(out) }
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_tree_entry_bypath")
        return out.map { Entry($0, lib) }
    }

    /// The direct entry called `name`, or nil.
    func entry(named name: String) throws -> Entry? {
        try entry(atPath: name)
    }

    /// Lends the `git_tree *`; valid only inside `body`.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(pointer)
    }

    /// A copy of a tree entry's facts, so no borrowed entry escapes.
    struct Entry {
        let name: String
        let id: ObjectID
        let mode: UInt32

        init(_ entry: OpaquePointer, _ lib: LibGit2) {
            name = lib.treeEntryName(entry).map { String(cString: $0) } ?? ""
            id = ObjectID(lib.treeEntryID(entry)!.pointee)
            mode = lib.treeEntryFilemode(entry)
        }

        var isTree: Bool { mode == GIT_FILEMODE_TREE.rawValue }
        /// A regular file (executable or not); excludes symlinks and submodules.
        var isFile: Bool { mode == GIT_FILEMODE_BLOB.rawValue || mode == GIT_FILEMODE_BLOB_EXECUTABLE.rawValue }
    }
}
