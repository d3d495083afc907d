import CGit2

/// A libgit2 tree builder: one directory being edited in memory, freed in
/// deinit. Starts as a copy of an existing tree's entries (or empty) and
/// writes a new tree object without touching the index or work tree.
final class TreeBuilder {
    private let repository: GitRepository
    private let pointer: OpaquePointer
    private var lib: LibGit2 { repository.lib }

    init(_ repository: GitRepository, from source: Tree?) throws {
        let lib = repository.lib
        self.repository = repository
        pointer = try repository.withHandle { repo in
            try lib.make("git_treebuilder_new") { out in
                if let source { return source.withHandle { lib.treebuilderNew(out, repo, $0) } }
                return lib.treebuilderNew(out, repo, nil)
            }
        }
    }

    deinit { lib.treebuilderFree(pointer) }

    var count: Int { lib.treebuilderEntryCount(pointer) }

    func entry(_ name: String) -> Tree.Entry? {
        lib.treebuilderGet(pointer, name).map { Tree.Entry($0, lib) }
    }

    /// Adds or replaces `name`; libgit2 rejects names that are empty, ".",
    /// "..", ".git" or contain "/".
    func insert(_ name: String, _ id: ObjectID, mode: git_filemode_t) throws {
        let rc = id.withOID { lib.treebuilderInsert(nil, pointer, name, $0, mode.rawValue) }
        try lib.check(rc, "git_treebuilder_insert")
    }

    /// Removes `name`; absent is fine (libgit2 reports that as a generic
    /// error, so look first).
    func remove(_ name: String) throws {
        guard lib.treebuilderGet(pointer, name) != nil else { return }
        try lib.check(lib.treebuilderRemove(pointer, name), "git_treebuilder_remove")
    }

    func write() throws -> ObjectID {
        var oid = git_oid()
        try lib.check(lib.treebuilderWrite(&oid, pointer), "git_treebuilder_write")
        return ObjectID(oid)
    }
}
