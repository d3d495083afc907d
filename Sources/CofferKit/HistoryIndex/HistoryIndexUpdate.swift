import GitStore

/// Why an index was not used; never shown: the caller walks the history instead.
enum HistoryIndexError: Error {
    case inconsistent
}

/// A secret's version steps read from the history index, and the index
/// they came from, to be saved when it was brought up to date or learned
/// signing keys.
struct IndexedHistory {
    let steps: [VersionStep]
    var index: HistoryIndex
    /// True when `index` differs from the file on disk.
    var changed: Bool

    /// Saves the index when it changed or `checker` verified commits among
    /// `steps` that it had no key for. A read-only command saves without
    /// the vault lock: the file is replaced atomically and any whole index
    /// is a valid one, so racing writers only cost a later extension. A
    /// clone whose `.git` cannot be written keeps working without one.
    mutating func save(gitDirectory: String, learningFrom checker: SignatureChecker?) {
        for step in steps where index.signingKeys[step.commit.id] == nil {
            guard let key = checker?.signingKeys[step.commit.id] else { continue }
            index.signingKeys[step.commit.id] = key
            changed = true
        }
        guard changed else { return }
        try? index.save(gitDirectory: gitDirectory)
        changed = false
    }
}

extension Vault {
    /// `id`'s version steps from the history index brought up to HEAD, nil
    /// for an empty vault. An index that is missing, unreadable or
    /// contradicted by the commits it names is rebuilt from scratch once;
    /// if that one too is contradicted, this throws and the caller walks.
    func indexedVersionSteps(of id: SecretID) throws -> IndexedHistory? {
        let repo = try repo()
        guard let head = try repo.head() else { return nil }
        let walker = try PathWalker(repo)
        let stored = HistoryIndex.load(gitDirectory: gitDirectory)
        var (index, changed) = try bringUp(stored, to: head, walker: walker)
        if let steps = try? checkedSteps(of: id, in: index, head: head, walker: walker) {
            return IndexedHistory(steps: steps, index: index, changed: changed)
        }
        guard stored != nil else { throw HistoryIndexError.inconsistent }
        (index, changed) = try bringUp(nil, to: head, walker: walker)
        return IndexedHistory(steps: try checkedSteps(of: id, in: index, head: head, walker: walker), index: index, changed: changed)
    }

    /// `stored` (nil: none) brought up to `head`: kept as it is when it is
    /// at `head`; else cut back to the newest commit of `head`'s first-parent
    /// chain it knows (its own head after a pull or a commit, an older one
    /// after an amend or a reset) and extended over the commits above it;
    /// built from the root commit when it knows none. True when it changed.
    func bringUp(_ stored: HistoryIndex?, to head: ObjectID, walker: PathWalker) throws -> (HistoryIndex, Bool) {
        if let stored, stored.head == head { return (stored, false) }
        let known = stored?.knownCommits ?? []
        var chain = try walker.chain(from: head) { known.contains(HistoryIndex.Object($0)) }
        var index = HistoryIndex(head: head)
        var parentTree: ObjectID?
        if let stored, let base = chain.last, known.contains(HistoryIndex.Object(base.commit)) {
            index = stored
            index.cut(after: base.commit)
            parentTree = base.tree
            chain.removeLast()
        }
        for link in chain.reversed() {
            let found = try walker.changedFiles(endingWith: SecretID.fileExtension, from: parentTree, to: link.tree)
                .filter { SecretID(relativePath: $0.path) != nil }
            // Renames matter only where a path appeared in a commit with a parent.
            var renames: [(from: String, to: String)] = []
            if parentTree != nil, found.contains(where: { $0.old == nil && $0.new != nil }) {
                renames = Trailers(try walker.info(link.commit).message).renames
            }
            index.append(link.commit, changes: found, renames: renames)
            parentTree = link.tree
        }
        return (index, true)
    }

    /// The index's steps for `id`, each checked against the commits it
    /// names: each exists and holds the blob recorded after the change,
    /// its first parent the one recorded before it (so consecutive steps
    /// chain up: a record of a commit no longer in the history, or a change
    /// missed in between, does not pass), and the newest matches HEAD.
    private func checkedSteps(of id: SecretID, in index: HistoryIndex, head: ObjectID, walker: PathWalker) throws -> [VersionStep] {
        guard let steps = index.steps(of: id),
              try walker.blob(at: id.relativePath, inTree: walker.tree(of: head)) == steps.first?.after else {
            throw HistoryIndexError.inconsistent
        }
        return try steps.map { step in
            let link = try walker.link(of: step.commit)
            let before = try link.parent.map { try walker.blob(at: step.id.relativePath, inTree: walker.tree(of: $0)) } ?? nil
            guard try walker.blob(at: step.id.relativePath, inTree: link.tree) == step.after, before == step.before else {
                throw HistoryIndexError.inconsistent
            }
            let commit = try walker.info(step.commit)
            return VersionStep(id: step.id, commit: commit, claimedAction: Trailers(commit.message).action, before: step.before, after: step.after)
        }
    }
}
