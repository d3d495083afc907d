extension GitRepository {
    /// The blob of the regular file at `path` in `commit`'s tree, or nil if
    /// there is none (absent, a directory, a symlink). One lookup per path
    /// component; never walks the tree.
    public func blob(at path: String, in commit: ObjectID) throws -> ObjectID? {
        guard let entry = try Tree(of: commit, in: self).entry(atPath: path, in: self), entry.isFile else { return nil }
        return entry.id
    }

    /// Every regular file of `commit`'s tree whose path starts with `prefix`
    /// ("" = all), sorted by path (bytewise). Only the subtree the prefix
    /// selects is read.
    public func files(in commit: ObjectID, under prefix: String) throws -> [TreeEntry] {
        let root = try Tree(of: commit, in: self)
        var start = root
        var base = ""
        if let slash = prefix.lastIndex(of: "/") {
            let directory = String(prefix[..<slash])
            guard let entry = try root.entry(atPath: directory, in: self), entry.isTree else { return [] }
            start = try Tree(entry.id, in: self)
            base = directory + "/"
        }
        var found: [TreeEntry] = []
        try collect(start, base: base, prefix: prefix, depth: base.split(separator: "/").count, into: &found)
        return found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Deeper than any vault goes (an id has at most 128 segments): a tree
    /// nested further was made to exhaust the stack, and is refused.
    public static let maxTreeDepth = 256

    private func collect(_ tree: Tree, base: String, prefix: String, depth: Int, into found: inout [TreeEntry]) throws {
        guard depth <= GitRepository.maxTreeDepth else { throw GitError.treeTooDeep(path: base, limit: GitRepository.maxTreeDepth) }
        // Two files of one path would be listed twice: such a tree is no vault's.
        guard tree.isOrdered else {
            throw GitError.corruptObject("tree \(tree.id.hex) at \(base.isEmpty ? "the root" : base) has two entries of one name "
                                         + "or is out of git's order (git fsck rejects it)")
        }
        for index in 0..<tree.count {
            guard let entry = tree.entry(at: index) else { continue }
            let path = base + entry.name
            if entry.isTree {
                let directory = path + "/"
                guard directory.hasPrefix(prefix) || prefix.hasPrefix(directory) else { continue }
                try collect(Tree(entry.id, in: self), base: directory, prefix: prefix, depth: depth + 1, into: &found)
            } else if entry.isFile, path.hasPrefix(prefix) {
                found.append(TreeEntry(path: path, blob: entry.id))
            }
        }
    }
}
