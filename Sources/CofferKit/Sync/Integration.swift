import Age
import GitStore
import Posix

/// What bringing another clone's history in did.
public struct Integration: Sendable {
    public enum Kind: String, Sendable {
        /// Nothing to bring in: the other side is HEAD or behind it.
        case upToDate = "up-to-date"
        /// HEAD moved to the other side's commit, which had all of ours.
        case fastForward = "fast-forward"
        /// A merge commit was made.
        case merged
        /// Nothing was written: some ids changed on both sides (see `conflicts`).
        case conflicts
    }

    public internal(set) var kind: Kind
    /// The commit HEAD names afterwards (hex); nil when nothing moved.
    public internal(set) var commit: String?
    /// Ids the other side added, changed or removed, as HEAD now holds them.
    public internal(set) var incoming: [SecretID] = []
    /// Paths of other files that came in (`.recipients`, `.signers`…).
    public internal(set) var incomingFiles: [String] = []
    /// Ids the merge commit re-sealed for the merged readers.
    public internal(set) var resealed: [SecretID] = []
    /// Re-keyed because a reader was removed: that reader may know these values.
    public internal(set) var exposed: [SecretID] = []
    /// Ids left unsealed for the merged readers because a scope's readers
    /// include a change this clone has not accepted (`recipients accept`).
    public internal(set) var heldBack: [SecretID] = []
    /// Ids whose merged file is not a sealed file bound to its id (a bad
    /// push): carried as they are, not re-sealed; `verify` reports them.
    public internal(set) var damaged: [SecretID] = []
    /// Paths both sides changed that wait for `coffer resolve`.
    public internal(set) var conflicts: [Conflict] = []
    /// Set when the commit landed but the work tree could not be updated yet.
    public internal(set) var workTreePending: (any Error)?
}

/// A path both sides changed, left for a person.
public struct Conflict: Equatable, Sendable {
    public let path: String
    /// The id, for a sealed file.
    public let id: SecretID?
    /// Why the driver did not settle it (no value in it).
    public let reason: String
    public let ours: Side
    public let theirs: Side
    /// Settled by `coffer resolve` already (the merge waits for the rest).
    public let decided: Bool

    public enum Side: String, Sendable {
        case changed, deleted
    }
}

extension Vault {
    /// Brings `theirs` (a commit in this repository, fetched from `source`,
    /// e.g. `origin/main`) into the current branch, as one commit: a
    /// fast-forward, or a merge whose files both sides changed go through
    /// `MergeDriver` (in-process, registered with libgit2) and whose
    /// secrets are re-sealed for the merged readers in the merge commit
    /// itself. Conflicts write nothing: they are recorded (see
    /// `PendingMerge`) for `conflicts` and `resolve`.
    public func integrate(_ theirs: ObjectID, source: String, identities: [Identity]) throws -> Integration {
        try writing { try MergeTransaction.run(self, theirs: theirs, source: source, identities: identities) }
    }
}

enum MergeTransaction {
    static func run(_ vault: Vault, theirs: ObjectID, source: String, identities: [Identity]) throws -> Integration {
        let repo = try vault.repo()
        try vault.configuration.audit?.checkWritable()
        let lock = try vault.lock()
        defer { _ = lock }
        try VaultTransaction.finishInterruptedWrite(vault, repo: repo)
        guard !vault.isHeadDetached else { throw VaultError.detachedHead }
        try VaultTransaction.refuseUnfinishedGitOperation(vault, index: nil)
        // Judged (or, in a clone coffer never wrote in, seeded) at this
        // clone's own HEAD before the other side's commits land: seeded
        // after a fast-forward, the readers accepted and the signers pinned
        // would be whatever the remote holds, a hand-made push included.
        _ = try vault.trusted()
        let head = try repo.head()
        if let head, try head == theirs || repo.isAncestor(theirs, of: head) {
            PendingMerge.remove(gitDirectory: vault.gitDirectory)
            return Integration(kind: .upToDate)
        }
        let headTree = try head.map { try repo.node($0).tree }
        guard let head, try !repo.isAncestor(head, of: theirs) else {
            return try fastForward(vault, repo: repo, from: head, headTree: headTree, to: theirs)
        }
        // Histories with no common commit are two vaults, not two clones of one.
        guard try repo.mergeBase(head, theirs) != nil else { throw VaultError.unrelatedHistories(source: source) }
        return try merge(vault, repo: repo, head: head, headTree: headTree!, theirs: theirs, source: source, identities: identities)
    }

    private static func fastForward(_ vault: Vault, repo: GitRepository, from head: ObjectID?, headTree: ObjectID?,
                                    to theirs: ObjectID) throws -> Integration {
        let changes = try landing(repo, from: headTree, to: repo.node(theirs).tree)
        try refuseObstacles(vault, changes)
        var outcome = ChangeOutcome()
        try VaultTransaction.land(vault, repo: repo, from: head, to: theirs, changes: changes, contents: [:], action: .merge,
                                  accepted: nil, outcome: &outcome, reflog: CofferReflog.fastForward)
        PendingMerge.remove(gitDirectory: vault.gitDirectory)
        var result = Integration(kind: .fastForward, commit: theirs.hex, workTreePending: outcome.workTreePending)
        (result.incoming, result.incomingFiles) = split(changes.map(\.path))
        return result
    }

    private static func merge(_ vault: Vault, repo: GitRepository, head: ObjectID, headTree: ObjectID, theirs: ObjectID,
                              source: String, identities: [Identity]) throws -> Integration {
        let (merged, reasons) = try mergeTrees(vault, repo: repo, head: head, theirs: theirs, identities: identities)
        // Decisions `resolve` recorded count while the conflict is the same one.
        let previous = try PendingMerge.load(gitDirectory: vault.gitDirectory)
        var record = PendingMerge(theirs: theirs, source: source, conflicts: merged.conflicts)
        record.reasons = reasons
        var decided: [TreeChange] = []
        for conflict in merged.conflicts {
            guard let earlier = previous, earlier.conflicts.contains(conflict), let decision = earlier.decisions[conflict.path] else { continue }
            record.decisions[conflict.path] = decision
            switch decision {
            case .ours: break
            case .theirs: decided.append(conflict.theirs.map { .write(path: conflict.path, blob: $0) } ?? .delete(path: conflict.path))
            case .blob(let blob): decided.append(.write(path: conflict.path, blob: blob))
            }
        }
        guard record.unsettled.isEmpty else {
            try record.save(gitDirectory: vault.gitDirectory)
            return Integration(kind: .conflicts, conflicts: describe(record))
        }
        let author = try repo.configuredSignature() ?? Signature(name: vault.configuration.authorName ?? "coffer", email: "coffer@localhost")
        // The merge as libgit2 and the driver made it, unsigned and not yet
        // referenced: judged by the chain of trust before anything is sealed.
        let interim = try repo.createMergeCommit(parents: [head, theirs], tree: merged.tree, changes: decided,
                                                 message: "coffer: merge \(source) (draft)", author: author)
        let interimTree = try repo.node(interim).tree
        let before = try TrustState.load(gitDirectory: vault.gitDirectory)
        let (trust, accepted) = try vault.trusted(upTo: interim, saving: false)
        let plan = try ResealPlan(vault, repo: repo, headTree: headTree, theirTree: repo.node(theirs).tree, mergedTree: interimTree,
                                  accepted: accepted)
        var staging = try Staging(vault: vault, repo: repo, head: interim, changes: plan.changes, identities: identities,
                                  acceptance: Acceptance(accepted: accepted, trust: trust), deletedScopes: plan.deletedScopes)
        // Signed only when the chain trusts everything the other side
        // brought: a signature on a merge vouches for every trust-file line
        // it differs from its first parent by, held-back ones included. A
        // clone that pinned no signers judged nothing, so it vouches for
        // nothing: signed only when no trust file differs from HEAD's.
        let trusted = try trust.map { !$0.tainted && $0.held.count == (before?.held.count ?? 0) }
            ?? !repo.changedFiles(named: TrustChain.trustFiles, from: headTree, to: interimTree)
                .contains { TrustChain.isTrustPath($0) || $0.otherKind }
        let signer = trusted ? vault.commitSigner : nil
        let message = "coffer: merge \(source)\n\nCoffer-Action: \(Action.merge.rawValue)\n"
        let final: ObjectID = try repo.withBatchedObjectSync {
            try staging.stage(plan.changes)
            try staging.reseal(progress: nil)
            return try repo.createMergeCommit(parents: [head, theirs], tree: interimTree, changes: staging.treeChanges,
                                              message: message + staging.outcome.written.map { "Coffer-Id: \($0)\n" }.joined(),
                                              author: author, sign: signer.map { signer in { try signer.sign($0) } })
        }
        let changes = try landing(repo, from: headTree, to: repo.node(final).tree)
        try refuseObstacles(vault, changes)
        var outcome = staging.outcome
        try VaultTransaction.land(vault, repo: repo, from: head, to: final, changes: changes, contents: staging.files,
                                  action: .merge, accepted: nil, outcome: &outcome)
        PendingMerge.remove(gitDirectory: vault.gitDirectory)
        var result = Integration(kind: .merged, commit: final.hex, resealed: outcome.written, exposed: outcome.rekeyed,
                                 heldBack: plan.heldBack, damaged: plan.unreadable, workTreePending: outcome.workTreePending)
        (result.incoming, result.incomingFiles) = split(changes.map(\.path))
        return result
    }

    /// libgit2's merge of the two commits with coffer's driver in-process,
    /// and why the driver left each conflict it left.
    static func mergeTrees(_ vault: Vault, repo: GitRepository, head: ObjectID, theirs: ObjectID,
                           identities: [Identity]) throws -> (TreeMerge, [String: MergeDriver.ConflictReason]) {
        // libgit2 picks the driver by the `merge` attribute: without this
        // clone's `merge=coffer` lines (a clone `setup` never ran in) sealed
        // files would go to the binary driver, a conflict on every edit.
        try vault.wireMergeAttributes()
        var reasons: [String: MergeDriver.ConflictReason] = [:]
        let merged = try repo.mergeTrees(ours: head, theirs: theirs, maxFileSize: Sealing.maxFileSize) { input in
            switch MergeDriver.merge(path: input.path, base: input.base, ours: input.ours, theirs: input.theirs, identities: identities) {
            case .merged(let bytes, _): return bytes
            case .conflict(let reason):
                reasons[input.path] = reason
                return nil
            }
        }
        return (merged, reasons)
    }

    /// The tree changes that take the work tree and index from `old` to `new`.
    private static func landing(_ repo: GitRepository, from old: ObjectID?, to new: ObjectID) throws -> [TreeChange] {
        try repo.changedFiles(named: nil, from: old, to: new).map { change in
            change.new.map { .write(path: change.path, blob: $0) } ?? .delete(path: change.path)
        }
    }

    /// A symlink on the way, or a directory where a file goes: the work
    /// tree could not follow the commit, so none is made.
    private static func refuseObstacles(_ vault: Vault, _ changes: [TreeChange]) throws {
        for change in changes {
            if let obstacle = Paths.obstacle(below: vault.root, at: change.path) { throw obstacle }
        }
    }

    /// Sealed files' ids, and every other path.
    private static func split(_ paths: [String]) -> ([SecretID], [String]) {
        let ids = paths.compactMap(SecretID.init(relativePath:))
        return (ids.sorted(), paths.filter { SecretID(relativePath: $0) == nil }.sorted())
    }

    static func describe(_ record: PendingMerge) -> [Conflict] {
        record.conflicts.map { c in
            let reason: String
            if c.ours == nil || c.theirs == nil {
                reason = c.ours == nil ? "deleted here, changed there" : "changed here, deleted there"
            } else {
                reason = record.reasons[c.path]?.description ?? "both sides changed it"
            }
            return Conflict(path: c.path, id: SecretID(relativePath: c.path), reason: reason,
                            ours: c.ours == nil ? .deleted : .changed, theirs: c.theirs == nil ? .deleted : .changed,
                            decided: record.decisions[c.path] != nil)
        }
    }
}

/// What the merge commit re-seals: every sealed file either side's history
/// changed (the other side may have changed its scope's readers), for the
/// readers the merged `.recipients` name — unless those include a change
/// this clone has not accepted, which is never sealed for.
struct ResealPlan {
    private(set) var changes: [VaultChange] = []
    private(set) var heldBack: [SecretID] = []
    /// Ids whose merged file is not a sealed file bound to them.
    private(set) var unreadable: [SecretID] = []
    /// Scopes whose `.recipients` the merge deletes.
    private(set) var deletedScopes: Set<Scope> = []

    init(_ vault: Vault, repo: GitRepository, headTree: ObjectID, theirTree: ObjectID, mergedTree: ObjectID,
         accepted: AcceptedReaders) throws {
        let fromOurs = try repo.changedFiles(named: nil, from: headTree, to: mergedTree)
        let fromTheirs = try repo.changedFiles(named: nil, from: theirTree, to: mergedTree)
        // The merged `.recipients` that differ from the work tree's (ours),
        // and those the merge deletes (their secrets fall to the scope above).
        var readers: [Scope: RecipientsFile] = [:]
        for change in fromOurs {
            guard let scope = Vault.scope(ofRecipientsPath: change.path) else { continue }
            guard let blob = change.new else {
                if change.old != nil { deletedScopes.insert(scope) }
                continue
            }
            readers[scope] = try RecipientsFile(parsing: String(decoding: try repo.readBlob(blob), as: UTF8.self), path: change.path)
        }
        var overrides = readers.mapValues(\.entries)
        for scope in deletedScopes { overrides[scope] = [] }
        // As the transaction checks it: the readers this clone accepted for
        // the secret's own directory (the nearest accepted scope above it).
        var verdict: [Scope: Bool] = [:]
        func acceptable(_ governing: ScopeReaders, in directory: Scope) -> Bool {
            if let known = verdict[directory] { return known }
            let baseline = Set(accepted.baseline(for: directory)?.readers.map(\.recipient) ?? [])
            let ok = baseline == Set(governing.readers.map(\.recipient))
            verdict[directory] = ok
            return ok
        }
        var ids = Set<SecretID>()
        for change in fromOurs + fromTheirs where change.new != nil {
            if let id = SecretID(relativePath: change.path) { ids.insert(id) }
        }
        // The merged tree's blob for each changed path (both diffs end there).
        let files = Dictionary((fromOurs + fromTheirs).compactMap { change in change.new.map { (change.path, $0) } },
                               uniquingKeysWith: { first, _ in first })
        for id in ids.sorted() {
            // A file that is not a sealed file bound to its id (a bad push)
            // cannot be re-sealed; it is carried as it is, and verify names it.
            guard let blob = files[id.relativePath], let bound = try? Sealing.boundReaders(of: try repo.readBlob(blob), id: id),
                  bound.id == id.value else {
                unreadable.append(id)
                continue
            }
            let governing = try vault.readers(in: .of(id), overrides: overrides)
            if acceptable(governing, in: .of(id)) { changes.append(.rewrap(id)) } else { heldBack.append(id) }
        }
        for (scope, file) in readers.sorted(by: { $0.key < $1.key })
        where acceptable(ScopeReaders(scope: scope, readers: file.entries), in: scope) {
            changes.insert(.setReaders(scope, file), at: 0)
        }
    }
}
