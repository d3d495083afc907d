import CGit2

extension GitRepository {
    /// Writes a commit whose tree is `parent`'s (empty if nil) with `changes`
    /// applied in order, and returns its id without moving any ref (see
    /// `advanceHead`). Reads neither the index nor the work tree and opens
    /// only the directories on changed paths. Files get mode 0100644; a
    /// directory left empty disappears; deleting a missing path is a no-op.
    /// Author and committer are `author`, now. The message is stored with a
    /// final newline, as git does.
    public func createCommit(parent: ObjectID?, changes: [TreeChange], message: String, author: Signature) throws -> ObjectID {
        let parentCommit = try parent.map { try Commit($0, in: self) }
        let base = try parentCommit.map { try Tree($0.treeID, in: self) }
        let editor = try TreeEditor(self, base: base)
        for change in changes { try editor.apply(change) }
        let tree = try Tree(editor.write(), in: self)
        let signature = try SignatureStamp(author, lib: lib)
        let text = message.hasSuffix("\n") ? message : message + "\n"

        var oid = git_oid()
        let rc = withHandle { repo in
            signature.withHandle { sig in
                tree.withHandle { treePointer in
                    withParents(parentCommit) { parents, count in
                        lib.commitCreate(&oid, repo, nil, sig, sig, nil, text, treePointer, count, parents)
                    }
                }
            }
        }
        try lib.check(rc, "git_commit_create")
        return ObjectID(oid)
    }

    /// Commits newest first from `from` (default HEAD; none if unborn),
    /// following first parents, at most `limit`.
    public func log(from: ObjectID? = nil, limit: Int = Int.max) throws -> [CommitInfo] {
        var next = try from ?? head()
        var commits: [CommitInfo] = []
        while let id = next, commits.count < limit {
            let commit = try Commit(id, in: self)
            let info = commit.info
            commits.append(info)
            next = info.parents.first
        }
        return commits
    }

    private func withParents<R>(_ parent: Commit?, _ body: (UnsafePointer<OpaquePointer?>?, Int) -> R) -> R {
        guard let parent else { return body(nil, 0) }
        return parent.withHandle { pointer in
            var parents: [OpaquePointer?] = [pointer]
            return parents.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress), 1) }
        }
    }
}
