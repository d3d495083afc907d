import CGit2

/// A fast walk over one path's history: the first-parent chain read straight
/// from the object database (only each commit's `tree` and first `parent`
/// lines are parsed), and the blob at the path found through a cache keyed
/// by subtree id, so directories that did not change are never read again.
/// About as fast as `git log -- PATH`, where building full commit objects
/// for every commit was several times slower.
public final class PathWalker {
    let repository: GitRepository
    /// (tree id, entry name) → entry id and whether it is a tree.
    private var entries: [TreeKey: Tree.Entry?] = [:]

    private struct TreeKey: Hashable {
        let tree: ObjectID
        let name: String
    }

    public init(_ repository: GitRepository) throws {
        self.repository = repository
    }

    /// The first-parent chain from `start`, newest first, with each commit's root tree.
    public func chain(from start: ObjectID) throws -> [(commit: ObjectID, tree: ObjectID)] {
        var result: [(ObjectID, ObjectID)] = []
        var next: ObjectID? = start
        while let id = next {
            let link = try self.link(id)
            result.append((id, link.tree))
            next = link.parent
        }
        return result
    }

    /// A commit's root tree and first parent, read from its raw object.
    func link(_ id: ObjectID) throws -> (tree: ObjectID, parent: ObjectID?) {
        let bytes = try repository.readObject(id, as: .commit)
        // Header lines: "tree <hex>\n", then "parent <hex>\n" lines; the
        // first parent is all a first-parent walk needs.
        let tag = Array("tree ".utf8), parentTag = Array("parent ".utf8)
        guard bytes.count >= 45, bytes.prefix(5).elementsEqual(tag), let tree = ObjectID(hexDigits: Array(bytes[5..<45])[...]) else {
            throw GitError.call(function: "git_odb_read", code: -1, message: "commit without a tree")
        }
        var parent: ObjectID?
        if bytes.count >= 93, bytes[46..<53].elementsEqual(parentTag) {
            parent = ObjectID(hexDigits: Array(bytes[53..<93])[...])
        }
        return (tree, parent)
    }

    /// The blob at `path` below root tree `tree`, or nil.
    public func blob(at path: String, inTree tree: ObjectID) throws -> ObjectID? {
        var current = tree
        let parts = path.split(separator: "/").map(String.init)
        for (index, name) in parts.enumerated() {
            let key = TreeKey(tree: current, name: name)
            let entry: Tree.Entry?
            if let cached = entries[key] {
                entry = cached
            } else {
                entry = try Tree(current, in: repository).entry(named: name)
                entries[key] = entry
            }
            guard let entry else { return nil }
            if index == parts.count - 1 { return entry.isFile ? entry.id : nil }
            guard entry.isTree else { return nil }
            current = entry.id
        }
        return nil
    }

    /// A blob's size from its object header, without reading it.
    public func size(of blob: ObjectID) throws -> Int {
        if let native = repository.native {
            do {
                guard let size = try native.size(of: blob) else { throw GitRepository.notFound(blob) }
                return size
            } catch is NativeUnsupported {}
        }
        let lib = try repository.lib
        let odb = try repository.withHandle { repo in try lib.make("git_repository_odb") { lib.repositoryODB($0, repo) } }
        defer { lib.odbFree(odb) }
        var size = 0
        var type = GIT_OBJECT_ANY
        try blob.withOID { oid in try lib.check(lib.odbReadHeader(&size, &type, odb, oid), "git_odb_read_header") }
        return size
    }

    /// Full metadata, only for the commits a caller reports.
    public func info(_ commit: ObjectID) throws -> CommitInfo {
        try Commit(commit, in: repository).info
    }
}
