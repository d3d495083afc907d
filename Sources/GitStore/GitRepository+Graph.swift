import CGit2

/// A commit's place in the graph and what it carries for verification.
public struct CommitNode: Equatable, Sendable {
    public let id: ObjectID
    public let tree: ObjectID
    /// First parent first; empty for a root commit.
    public let parents: [ObjectID]
    /// Committer time, unix seconds: the time git passes to `ssh-keygen` when it verifies.
    public let time: Int64
}

/// The signature a commit carries in its `gpgsig` header and the bytes it
/// signs (the commit object without that header), as git verifies them.
public struct CommitSignatureData: Equatable, Sendable {
    public let armored: [UInt8]
    public let signedData: [UInt8]
}

extension GitRepository {
    /// The commits reachable from `head` and not from any of `hidden`,
    /// parents before children.
    public func commits(from head: ObjectID, hiding hidden: [ObjectID] = []) throws -> [CommitNode] {
        let walk = try withHandle { repo in try lib.make("git_revwalk_new") { lib.revwalkNew($0, repo) } }
        defer { lib.revwalkFree(walk) }
        try lib.check(lib.revwalkSorting(walk, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_REVERSE.rawValue), "git_revwalk_sorting")
        try head.withOID { try lib.check(lib.revwalkPush(walk, $0), "git_revwalk_push") }
        for id in hidden { try id.withOID { try lib.check(lib.revwalkHide(walk, $0), "git_revwalk_hide") } }
        var nodes: [CommitNode] = []
        var oid = git_oid()
        while true {
            let rc = lib.revwalkNext(&oid, walk)
            if rc == GIT_ITEROVER.rawValue { break }
            try lib.check(rc, "git_revwalk_next")
            nodes.append(try node(ObjectID(oid)))
        }
        return nodes
    }

    /// One commit's tree and parents.
    public func node(_ id: ObjectID) throws -> CommitNode {
        let commit = try Commit(id, in: self)
        return CommitNode(id: id, tree: commit.treeID, parents: commit.parents, time: commit.committerTime)
    }

    /// True when `ancestor` is `commit` or one of its ancestors.
    public func isAncestor(_ ancestor: ObjectID, of commit: ObjectID) throws -> Bool {
        if ancestor == commit { return true }
        let rc = withHandle { repo in commit.withOID { c in ancestor.withOID { a in lib.graphDescendantOf(repo, c, a) } } }
        try lib.check(rc, "git_graph_descendant_of")
        return rc == 1
    }

    /// The best common ancestor of two commits, nil when they share none.
    public func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        var oid = git_oid()
        let rc = withHandle { repo in one.withOID { a in two.withOID { b in lib.mergeBase(&oid, repo, a, b) } } }
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_merge_base")
        return ObjectID(oid)
    }

    /// Every best common ancestor of two commits: one in a plain history,
    /// several after criss-cross merges, none for unrelated histories.
    public func mergeBases(_ one: ObjectID, _ two: ObjectID) throws -> [ObjectID] {
        var array = git_oidarray()
        let rc = withHandle { repo in one.withOID { a in two.withOID { b in lib.mergeBases(&array, repo, a, b) } } }
        if rc == GIT_ENOTFOUND.rawValue { return [] }
        try lib.check(rc, "git_merge_bases")
        defer { lib.oidarrayDispose(&array) }
        return (0..<array.count).map { ObjectID(array.ids[$0]) }
    }

    /// The commit's `gpgsig` signature and the data it signs, nil when unsigned.
    public func commitSignature(_ id: ObjectID) throws -> CommitSignatureData? {
        var signature = git_buf(), signed = git_buf()
        defer {
            lib.bufDispose(&signature)
            lib.bufDispose(&signed)
        }
        var oid = id.withOID { $0.pointee }
        let rc = withHandle { lib.commitExtractSignature(&signature, &signed, $0, &oid, nil) }
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_commit_extract_signature")
        func bytes(_ buffer: git_buf) -> [UInt8] {
            guard let pointer = buffer.ptr else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: buffer.size))
        }
        return CommitSignatureData(armored: bytes(signature), signedData: bytes(signed))
    }

    /// The regular files named one of `names` (all when nil; anywhere in the tree, down to
    /// `maxTreeDepth`) that differ between two root trees (nil: empty),
    /// sorted by path. Subtrees with the same id on both sides are never read.
    public func changedFiles(named names: Set<String>?, from old: ObjectID?, to new: ObjectID?) throws -> [FileChange] {
        var found: [FileChange] = []
        try compare(old, new, base: "", names: names, depth: 0, into: &found)
        return found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private func compare(_ old: ObjectID?, _ new: ObjectID?, base: String, names: Set<String>?, depth: Int,
                         into found: inout [FileChange]) throws {
        // Deeper than any vault path goes: nothing there is a file coffer
        // reads, and a pushed tree must not stop every later command.
        guard old != new, depth <= GitRepository.maxTreeDepth else { return }
        let oldEntries = try old.map { try entries(of: Tree($0, in: self)) } ?? [:]
        let newEntries = try new.map { try entries(of: Tree($0, in: self)) } ?? [:]
        for name in Set(oldEntries.keys).union(newEntries.keys) {
            let before = oldEntries[name], after = newEntries[name]
            guard before?.id != after?.id || before?.mode != after?.mode else { continue }
            let oldTree = before?.isTree == true ? before?.id : nil, newTree = after?.isTree == true ? after?.id : nil
            if oldTree != nil || newTree != nil {
                try compare(oldTree, newTree, base: base + name + "/", names: names, depth: depth + 1, into: &found)
            }
            guard names?.contains(name) ?? true else { continue }
            let oldBlob = before?.isFile == true ? before?.id : nil, newBlob = after?.isFile == true ? after?.id : nil
            let odd = [before, after].contains { $0.map { !$0.isFile && !$0.isTree } ?? false }
            if oldBlob != newBlob || odd {
                found.append(FileChange(path: base + name, old: oldBlob, new: newBlob, otherKind: odd))
            }
        }
    }

    private func entries(of tree: Tree) throws -> [String: Tree.Entry] {
        var result: [String: Tree.Entry] = [:]
        for index in 0..<tree.count { if let entry = tree.entry(at: index) { result[entry.name] = entry } }
        return result
    }
}

/// A file that differs between two trees; nil for a side where it is not a
/// regular file. `otherKind`: one side holds a symlink or submodule there.
public struct FileChange: Equatable, Sendable {
    public let path: String
    public let old: ObjectID?
    public let new: ObjectID?
    public let otherKind: Bool
}
