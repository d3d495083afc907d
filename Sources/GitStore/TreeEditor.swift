import CGit2

/// Applies `TreeChange`s to a commit's tree by editing only the directories
/// on the changed paths, each in a `TreeBuilder` seeded from its old tree.
/// Untouched subtrees keep their ids and are never read, so the cost is the
/// depth and width of the touched directories, not the size of the vault.
final class TreeEditor {
    private let repository: GitRepository
    private let root: Directory

    /// One directory being edited; its open subdirectories by name.
    private final class Directory {
        let builder: TreeBuilder
        var children: [String: Directory] = [:]
        init(_ builder: TreeBuilder) { self.builder = builder }
    }

    init(_ repository: GitRepository, base: Tree?) throws {
        self.repository = repository
        root = Directory(try TreeBuilder(repository, from: base))
    }

    /// Applies `change`; later changes see earlier ones.
    func apply(_ change: TreeChange) throws {
        var components = change.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let name = components.removeLast()
        switch change {
        case .write(_, let blob):
            let directory = try descend(components, creating: true, path: change.path)!
            // Never replace a directory by a file: that would drop everything below it.
            if directory.children[name] != nil || directory.builder.entry(name)?.isTree == true {
                throw GitError.pathConflict(path: change.path)
            }
            try directory.builder.insert(name, blob, mode: GIT_FILEMODE_BLOB)
        case .delete:
            guard let directory = try descend(components, creating: false, path: change.path) else { return }
            // Only files are deleted; a directory of that name is a conflict, not a target.
            if directory.children[name] != nil || directory.builder.entry(name)?.isTree == true {
                throw GitError.pathConflict(path: change.path)
            }
            directory.builder.remove(name)
        }
    }

    /// Writes every edited directory bottom-up, dropping those left empty,
    /// and returns the new root tree (possibly the empty tree).
    func write() throws -> ObjectID {
        try write(root, isRoot: true)!
    }

    /// The directory's new tree id, or nil when it ended up empty: an empty
    /// subdirectory is never written, so no dangling empty tree is left for
    /// `git fsck` to report.
    private func write(_ directory: Directory, isRoot: Bool = false) throws -> ObjectID? {
        for (name, child) in directory.children {
            if let id = try write(child) {
                try directory.builder.insert(name, id, mode: GIT_FILEMODE_TREE)
            } else {
                directory.builder.remove(name)
            }
        }
        if directory.builder.count == 0 && !isRoot { return nil }
        return try directory.builder.write()
    }

    /// The open directory at `components`, opening each level from the base
    /// tree on first use. When `creating`, missing levels become new empty
    /// directories; otherwise a missing level is nil. A file in the way is a
    /// conflict: replacing it by a directory would silently delete it.
    private func descend(_ components: [String], creating: Bool, path: String) throws -> Directory? {
        var directory = root
        for name in components {
            if let open = directory.children[name] {
                directory = open
                continue
            }
            let existing = directory.builder.entry(name)
            let source: Tree?
            if let existing, existing.isTree {
                source = try Tree(existing.id, in: repository)
            } else if existing != nil {
                throw GitError.pathConflict(path: path)
            } else if creating {
                source = nil
            } else {
                return nil
            }
            let child = Directory(try TreeBuilder(repository, from: source))
            directory.children[name] = child
            directory = child
        }
        return directory
    }
}
