#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// A stock `git merge` or `git pull` that stopped on conflicts (the driver
/// left ours' sealed bytes in each, never markers) is taken over by
/// `coffer resolve`: git's merge state is undone — the index and the files
/// git's merge touched back to HEAD, `MERGE_HEAD` and its companions gone —
/// and the merge is recorded as one `coffer sync` would have left, so both
/// doors settle conflicts and make the merge commit the same way.
extension Vault {
    /// The commit a stock merge left unfinished here (one `MERGE_HEAD`, no
    /// other git operation under way), nil otherwise.
    var unfinishedGitMerge: ObjectID? {
        let others = ["CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"]
        guard !others.contains(where: { Files.exists(gitDirectory + "/" + $0) }),
              let text = try? Files.readRegularFile(path: gitDirectory + "/MERGE_HEAD", limit: 4096) else { return nil }
        let ids = String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard ids.count == 1 else { return nil }
        return ObjectID(hex: String(ids[0]))
    }

    /// The conflicts of merging `theirs` into HEAD, computed in memory.
    func conflicts(mergingIn theirs: ObjectID, identities: [Identity]) throws -> PendingMerge {
        let repo = try repo()
        guard let head = try repo.head() else { throw VaultError.noMergePending }
        let (merged, reasons) = try MergeTransaction.mergeTrees(self, repo: repo, head: head, theirs: theirs, identities: identities)
        var record = PendingMerge(theirs: theirs, source: gitMergeSource, conflicts: merged.conflicts)
        record.reasons = reasons
        return record
    }

    /// What git's merge message says it merged ("branch 'main' of …"), for the commit message.
    private var gitMergeSource: String {
        let text = (try? Files.readRegularFile(path: gitDirectory + "/MERGE_MSG", limit: 4096)).map { String(decoding: $0, as: UTF8.self) }
        let line = text?.split(separator: "\n").first.map(String.init) ?? ""
        // Printable ASCII only: a branch name from a remote is anyone's text.
        let printable = String(String.UnicodeScalarView(line.dropFirst(6).unicodeScalars.filter { (0x20..<0x7f).contains($0.value) }.prefix(200)))
        return line.hasPrefix("Merge ") && !printable.isEmpty ? printable : "MERGE_HEAD"
    }

    /// Undoes git's unfinished merge and records it as coffer's (the caller
    /// holds the vault lock). Killed part-way, `MERGE_HEAD` is still there
    /// (it goes last) and the next `resolve` takes the merge over again.
    func adoptGitMerge(_ theirs: ObjectID, identities: [Identity]) throws -> PendingMerge {
        let repo = try repo()
        guard let head = try repo.head() else { throw VaultError.noMergePending }
        var record = try conflicts(mergingIn: theirs, identities: identities)
        if let earlier = try PendingMerge.load(gitDirectory: gitDirectory), earlier.theirs == theirs {
            record.decisions = earlier.decisions
        }
        try record.save(gitDirectory: gitDirectory)
        let lock = try indexLock(token: Journal.newIndexLockToken())
        defer { lock.release() }
        let index = try repo.beginIndexUpdate(holding: lock)
        // A path git's merge wrote differs between HEAD and theirs, and the
        // merge left it staged or in conflict: git merges only from an index
        // that matches HEAD. Any other path keeps its file, and with it work
        // the user had not committed (git lets a merge run beside that).
        let restore = try repo.changedFiles(named: nil, from: repo.node(theirs).tree, to: repo.node(head).tree).filter { change in
            let staged = try index.entry(at: change.path)
            return staged.conflicted || staged.blob != change.new
        }.map { change in
            change.new.map { TreeChange.write(path: change.path, blob: $0) } ?? .delete(path: change.path)
        }
        let written = try VaultTransaction.writeWorkTree(self, repo: repo, changes: restore, contents: [:])
        try index.removeConflicts()
        try index.commit(written)
        try FileSystemSync.sync(root)
        for name in ["MERGE_MSG", "MERGE_MODE", "AUTO_MERGE", "MERGE_HEAD"] { unlink(gitDirectory + "/" + name) }
        return record
    }
}
