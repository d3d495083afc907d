
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
        return try createCommit(parents: parent.map { [$0] } ?? [], tree: parentCommit?.treeID, changes: changes,
                                message: message, author: author, sign: sign)
    }

    /// A merge commit: parents `parents` (first: the branch merged into),
    /// its tree `tree` (the merge's result) with `changes` applied.
    public func createMergeCommit(parents: [ObjectID], tree: ObjectID, changes: [TreeChange], message: String, author: Signature,
                                  sign: (([UInt8]) throws -> String?)? = nil) throws -> ObjectID {
        for parent in parents { _ = try Commit(parent, in: self) }
        return try createCommit(parents: parents, tree: tree, changes: changes, message: message, author: author, sign: sign)
    }

    /// The commit object as libgit2's `git_commit_create_buffer` writes it
    /// ("tree", "parent"s, "author" and "committer" stamped now, a blank
    /// line, the message); signed, the `gpgsig` header goes after the
    /// committer line as `git_commit_create_with_signature` puts it, each
    /// line of the signature after the first indented by one space.
    private func createCommit(parents: [ObjectID], tree baseTree: ObjectID?, changes: [TreeChange], message: String,
                              author: Signature, sign: (([UInt8]) throws -> String?)?) throws -> ObjectID {
        let base = try baseTree.map { try Tree($0, in: self) }
        let editor = try TreeEditor(self, base: base)
        for change in changes { try editor.apply(change) }
        let tree = try editor.write()
        let stamp = try SignatureStamp.now(author)
        var header = "tree \(tree.hex)\n" + parents.map { "parent \($0.hex)\n" }.joined()
        header += "author \(stamp)\ncommitter \(stamp)\n"
        let body = "\n" + (message.hasSuffix("\n") ? message : message + "\n")
        guard let sign else { return try writeObject(.commit, Array((header + body).utf8)) }
        // A final newline would leave a line holding one space, which git does not write.
        guard let armored = try sign(Array((header + body).utf8)).map({ $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }) else {
            return try writeObject(.commit, Array((header + body).utf8))
        }
        let field = "gpgsig " + armored.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n ") + "\n"
        return try writeObject(.commit, Array((header + field + body).utf8))
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

}
