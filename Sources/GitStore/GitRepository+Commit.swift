import CGit2

extension GitRepository {
    /// Writes a commit whose tree is `parent`'s (empty if nil) with `changes`
    /// applied in order, and returns its id without moving any ref (see
    /// `advanceHead`). Reads neither the index nor the work tree and opens
    /// only the directories on changed paths. Files get mode 0100644; a
    /// directory left empty disappears; deleting a missing path is a no-op.
    /// Author and committer are `author`, now. The message is stored with a
    /// final newline, as git does.
    ///
    /// With `sign`, the commit object's bytes are handed to it before the
    /// commit is written, and what it returns (an armored signature) goes
    /// into the commit's `gpgsig` header, where `git verify-commit` looks;
    /// nil from it writes the commit unsigned. A throw writes nothing.
    public func createCommit(parent: ObjectID?, changes: [TreeChange], message: String, author: Signature,
                             sign: (([UInt8]) throws -> String?)? = nil) throws -> ObjectID {
        let parentCommit = try parent.map { try Commit($0, in: self) }
        return try createCommit(parents: parentCommit.map { [$0] } ?? [], tree: parentCommit?.treeID, changes: changes,
                                message: message, author: author, sign: sign)
    }

    /// A merge commit: parents `parents` (first: the branch merged into),
    /// its tree `tree` (the merge's result) with `changes` applied.
    public func createMergeCommit(parents: [ObjectID], tree: ObjectID, changes: [TreeChange], message: String, author: Signature,
                                  sign: (([UInt8]) throws -> String?)? = nil) throws -> ObjectID {
        try createCommit(parents: try parents.map { try Commit($0, in: self) }, tree: tree, changes: changes,
                         message: message, author: author, sign: sign)
    }

    private func createCommit(parents parentCommits: [Commit], tree baseTree: ObjectID?, changes: [TreeChange], message: String,
                              author: Signature, sign: (([UInt8]) throws -> String?)?) throws -> ObjectID {
        let base = try baseTree.map { try Tree($0, in: self) }
        let editor = try TreeEditor(self, base: base)
        for change in changes { try editor.apply(change) }
        let tree = try Tree(editor.write(), in: self)
        let signature = try SignatureStamp(author, lib: lib)
        let text = message.hasSuffix("\n") ? message : message + "\n"

        var oid = git_oid()
        guard let sign else {
            let rc = withHandle { repo in
                signature.withHandle { sig in
                    tree.withHandle { treePointer in
                        withParents(parentCommits) { parents, count in
                            lib.commitCreate(&oid, repo, nil, sig, sig, nil, text, treePointer, count, parents)
                        }
                    }
                }
            }
            try lib.check(rc, "git_commit_create")
            return ObjectID(oid)
        }
        var buffer = git_buf()
        defer { lib.bufDispose(&buffer) }
        let rc = withHandle { repo in
            signature.withHandle { sig in
                tree.withHandle { treePointer in
                    withParents(parentCommits) { parents, count in
                        lib.commitCreateBuffer(&buffer, repo, sig, sig, nil, text, treePointer, count, parents)
                    }
                }
            }
        }
        try lib.check(rc, "git_commit_create_buffer")
        guard let content = buffer.ptr else { throw GitError.call(function: "git_commit_create_buffer", code: -1, message: "returned no buffer") }
        let bytes = Array(UnsafeRawBufferPointer(start: content, count: buffer.size))
        // libgit2 indents each line after the first and ends the header
        // itself; a final newline would leave a line holding one space,
        // which git does not write.
        let armored = try sign(bytes).map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
        try lib.check(withHandle { repo in lib.commitCreateWithSignature(&oid, repo, content, armored, armored == nil ? nil : "gpgsig") },
                      "git_commit_create_with_signature")
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

    /// The parents' handles, valid inside `body` (the commits stay alive meanwhile).
    private func withParents<R>(_ commits: [Commit], _ body: (UnsafePointer<OpaquePointer?>?, Int) -> R) -> R {
        guard !commits.isEmpty else { return body(nil, 0) }
        let pointers: [OpaquePointer?] = commits.map { commit in commit.withHandle { $0 } }
        return withExtendedLifetime(commits) {
            pointers.withUnsafeBufferPointer { body($0.baseAddress, commits.count) }
        }
    }
}
