#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import SSHSig

/// Decides, commit by commit, which changes to the vault's trust files
/// (`.signers`, every `.recipients`, `.coffer-config`) to believe.
///
/// The rules: a commit's changes to them are trusted when it is signed by
/// a key that `.signers`, as the chain trusted it at the commit's first
/// parent, lists for namespace `git`. A key removed by a trusted change
/// authorizes nothing that does not come before its removal in the
/// history (a branch forked earlier included); a line bounded by
/// `valid-before` (a key retired by rotation) authorizes nothing: a
/// commit's own time is the committer's claim.
///
/// A merge needs no signature when each changed trust file holds exactly
/// the set-merge of its two parents' lines (a line stays if both kept it
/// from the merge base, arrives if either added it) and nothing held back
/// is in the history of either parent — a held change "taints" every
/// descendant, since its lines are still in the files, and a set-merge of
/// tainted files would carry them in. So a stock `git pull` keeps the
/// chain while no one has pushed an untrusted change. Anything else is
/// held back, its reason recorded, and nothing of it is applied here.
///
/// What a trusted change does is applied as a change, not as a state: the
/// lines it added and removed (readers by key, signers by name and key),
/// so that a line an untrusted commit slipped in earlier is not blessed by
/// a later trusted edit of the same file.
struct TrustChain {
    static let trustFiles: Set<String> = [RecipientsFile.fileName, SignersFile.fileName, VaultConfig.fileName]

    /// What the chain trusts at a commit.
    struct Snapshot: Equatable, Sendable {
        /// One principal per entry, without comments.
        var signers: [AllowedSigner]
        var signing: Bool
    }

    /// One commit's verdict.
    struct Verdict {
        let node: CommitNode
        let changes: [FileChange]
        /// Nil when its changes (if any) were trusted.
        let held: HoldReason?
        /// Why its signature is not a trusted signer's (nil: it is, or it
        /// was not checked: no trust change and not `everySignature`).
        let signature: HoldReason?
        /// Readers each changed `.recipients` added and removed, when trusted.
        let readers: [ReaderDelta]
    }

    struct ReaderDelta {
        let scope: Scope
        let added: [NamedRecipient]
        let removed: Set<ReaderKey>
        /// The scope's `.recipients` was deleted: its directory falls to the scope above.
        let deleted: Bool
    }

    let repo: GitRepository
    private let walker: PathWalker
    /// The snapshot and taint for parents outside the walk.
    private let start: Snapshot
    private let startTainted: Bool
    /// Keys trusted changes removed, and where: known before the walk, and found in it.
    private(set) var removed: [TrustState.RemovedSigner]
    private var snapshots: [ObjectID: Snapshot] = [:]
    private var tainted: Set<ObjectID> = []
    private var trees: [ObjectID: ObjectID] = [:]
    private let now: Int64
    /// Commits an earlier judgement held back: judged again (after a
    /// rewind), they stay held, whatever this later state would say.
    private let heldBefore: Set<ObjectID>
    /// Set-merge checks left in this walk: each finds merge bases, and a
    /// pushed history of crafted merges must not make that unbounded.
    private var mergeChecks = 256
    /// Whether commits that change no trust file have their signature checked.
    private var everySignature = false

    /// A trust file bigger than this is not one coffer wrote (a reader or
    /// signer is a line of about 100 bytes): never read, held back.
    static let maxFileSize = 1 << 20

    init(repo: GitRepository, start: Snapshot, tainted: Bool, removed: [TrustState.RemovedSigner],
         heldBefore: Set<ObjectID> = [], now: Int64) throws {
        self.heldBefore = heldBefore
        self.repo = repo
        walker = try PathWalker(repo)
        self.start = Snapshot(signers: TrustChain.single(start.signers), signing: start.signing)
        startTainted = tainted
        self.removed = removed
        self.now = now
    }

    /// Judges `nodes` (parents first) from `start`. A removal found on one
    /// branch binds commits judged before it on another, so when the walk
    /// finds new removals it judges again, knowing them from the start.
    /// `everySignature`: check signatures of commits that change no trust
    /// file too (`verify --history` reports them; a write needs only the rest).
    static func judge(_ nodes: [CommitNode], repo: GitRepository, start: Snapshot, tainted: Bool,
                      removed: [TrustState.RemovedSigner], heldBefore: Set<ObjectID> = [],
                      everySignature: Bool = false) throws -> (TrustChain, [Verdict]) {
        func pass(_ known: [TrustState.RemovedSigner]) throws -> (TrustChain, [Verdict]) {
            var chain = try TrustChain(repo: repo, start: start, tainted: tainted, removed: known, heldBefore: heldBefore,
                                       now: Int64(time(nil)))
            chain.everySignature = everySignature
            let verdicts = try nodes.map { try chain.visit($0) }
            return (chain, verdicts)
        }
        let first = try pass(removed)
        return first.0.removed.count > removed.count ? try pass(first.0.removed) : first
    }

    /// The snapshot after `commit` (visited, or else the start).
    func snapshot(at commit: ObjectID?) -> Snapshot {
        commit.flatMap { snapshots[$0] } ?? start
    }

    /// True when something held back is in `commit`'s history.
    func isTainted(_ commit: ObjectID) -> Bool {
        snapshots[commit] == nil ? startTainted : tainted.contains(commit)
    }

    /// Visits commits parents first (as `GitRepository.commits` lists them).
    mutating func visit(_ node: CommitNode) throws -> Verdict {
        let first = node.parents.first
        // A root other than the pinned one (another vault's history, merged
        // in with --allow-unrelated-histories): no signer is trusted there,
        // whoever signed it, and all of it is held.
        let foreign = first == nil
        var snapshot = foreign ? Snapshot(signers: [], signing: start.signing) : self.snapshot(at: first)
        let parentTree = try first.map { try tree(of: $0) }
        trees[node.id] = node.tree
        let inherited = foreign || node.parents.contains(where: isTainted)
        let compared = try walker.changedFiles(named: TrustChain.trustFiles, from: parentTree, to: node.tree)
            ?? repo.changedFiles(named: TrustChain.trustFiles, from: parentTree, to: node.tree)
        let changes = compared.filter(TrustChain.isTrustPath)
        // A name given twice in a tree (reported as another kind, whatever it
        // names) leaves which trust files the commit holds to a guess.
        let ambiguous = compared.contains { $0.otherKind && !TrustChain.isTrustPath($0) }
        // A commit that changes no trust file needs its signature checked
        // only for a report: coffer's own commits pass here on every write.
        let signature = changes.isEmpty && !ambiguous && !everySignature ? nil : try signatureProblem(node, trusting: snapshot)
        func record(_ snapshot: Snapshot, tainted: Bool) {
            snapshots[node.id] = snapshot
            if tainted { self.tainted.insert(node.id) }
        }
        guard !changes.isEmpty || ambiguous else {
            record(snapshot, tainted: inherited)
            return Verdict(node: node, changes: [], held: nil, signature: signature, readers: [])
        }
        var held = foreign ? .foreignHistory : signature
        if let reason = held, reason != .badSignature, reason != .foreignHistory, !inherited, (try? isSetMerge(node, changes)) == true {
            held = nil
        }
        // An unsigned merge that only carries a held change in says so.
        if held == .unsigned, node.parents.count >= 2, inherited { held = .untrustedMerge }
        if changes.contains(where: \.otherKind) { held = held ?? .untrustedMerge }
        if ambiguous { held = held ?? .malformed }
        if heldBefore.contains(node.id) { held = held ?? .untrustedMerge }
        var deltas: [ReaderDelta] = []
        var after = snapshot
        var removals: [TrustState.RemovedSigner] = []
        if held == nil {
            do {
                for change in changes {
                    try apply(change, node: node, parentTree: parentTree, to: &after, removals: &removals, readers: &deltas)
                }
            } catch {
                // A trusted signer's file that does not parse: nothing of it counts.
                held = .malformed
            }
        }
        guard held == nil else {
            record(snapshot, tainted: true)
            return Verdict(node: node, changes: changes, held: held, signature: signature, readers: [])
        }
        snapshot = after
        removed += removals.filter { new in !removed.contains { $0.commit == new.commit && $0.entry.key == new.entry.key } }
        record(snapshot, tainted: inherited)
        return Verdict(node: node, changes: changes, held: nil, signature: signature, readers: deltas)
    }

    /// Applies one trusted change. The old side is read leniently (it was
    /// never vouched for as a whole), the new side strictly.
    private mutating func apply(_ change: FileChange, node: CommitNode, parentTree: ObjectID?, to snapshot: inout Snapshot,
                       removals: inout [TrustState.RemovedSigner], readers: inout [ReaderDelta]) throws {
        switch change.path {
        case SignersFile.fileName:
            let old = TrustChain.byPrincipal(leniently: change.old.flatMap { try? text($0) } ?? "")
            let new = TrustChain.byPrincipal(try change.new.map { try SignersFile(parsing: try text($0), path: change.path).entries } ?? [])
            for (pair, entry) in old where new[pair] == nil {
                snapshot.signers.removeAll { Pair($0) == pair }
                // A removal binds the key only when no name keeps it (a rename is not one).
                if !new.values.contains(where: { $0.key == entry.key }) {
                    removals.append(TrustState.RemovedSigner(commit: node.id, entry: entry))
                }
            }
            for (pair, entry) in new {
                // Added, or its options changed (a rotation retiring it) while trusted.
                if let before = old[pair], before.options == entry.options || !snapshot.signers.contains(where: { Pair($0) == pair }) {
                    continue
                }
                snapshot.signers.removeAll { Pair($0) == pair }
                snapshot.signers.append(entry)
                // Added again: its removals before this commit no longer bind it (those after it still do).
                if old[pair] == nil {
                    removed = try removed.filter { gone in
                        guard gone.entry.key == entry.key else { return true }
                        return try !repo.isAncestor(gone.commit, of: node.id)
                    }
                }
            }
        case VaultConfig.fileName:
            snapshot.signing = try change.new.map { try VaultConfig(parsing: try text($0), path: change.path).signing } ?? true
        default:
            guard let scope = Vault.scope(ofRecipientsPath: change.path) else { return }
            let old = change.old.map { TrustChain.readers(leniently: (try? text($0)) ?? "") } ?? governing(scope.parent, in: parentTree)
            let new = try change.new.map { try RecipientsFile(parsing: try text($0), path: change.path).entries }
                ?? governing(scope.parent, in: node.tree)
            let before = Set(old.map(\.recipient)), after = Set(new.map(\.recipient))
            readers.append(ReaderDelta(scope: scope, added: new.filter { !before.contains($0.recipient) },
                                       removed: before.subtracting(after), deleted: change.new == nil))
        }
    }

    /// Why `node`'s signature is not one the start trusts, judging nothing else.
    func signatureOnly(_ node: CommitNode) throws -> HoldReason? {
        try signatureProblem(node, trusting: start)
    }

    /// `.signers` and `.coffer-config` count only at the root; `.recipients` anywhere.
    static func isTrustPath(_ change: FileChange) -> Bool {
        change.path == SignersFile.fileName || change.path == VaultConfig.fileName || change.path.hasSuffix(RecipientsFile.fileName)
            && Vault.scope(ofRecipientsPath: change.path) != nil
    }

    /// Why the commit's signature does not make its changes trusted, or nil.
    private func signatureProblem(_ node: CommitNode, trusting snapshot: Snapshot) throws -> HoldReason? {
        switch try CommitSigningKey(node.id, in: repo) {
        case .unsigned: return .unsigned
        case .bad: return .badSignature
        case .key(let key):
            for gone in removed where gone.entry.key == key {
                if try !repo.isAncestor(node.id, of: gone.commit) {
                    return .removedSigner(name: gone.entry.principals.joined(separator: ","), fingerprint: key.fingerprint)
                }
            }
            let namespace = CommitSigner.namespace
            // A line bounded by valid-before (a key retired by rotation) authorizes nothing new.
            if snapshot.signers.contains(where: { $0.key == key && $0.validBefore == nil && $0.permits(namespace: namespace, at: node.time)
                && $0.permits(namespace: namespace, at: now) }) {
                return nil
            }
            if let retired = snapshot.signers.first(where: { $0.key == key && $0.validBefore != nil }) {
                return .removedSigner(name: retired.principals.joined(separator: ","), fingerprint: key.fingerprint)
            }
            return .unknownSigner(fingerprint: key.fingerprint)
        }
    }

    /// True when every changed trust file holds the set-merge of the merge's
    /// two parents' lines, from their merge base.
    private mutating func isSetMerge(_ node: CommitNode, _ changes: [FileChange]) throws -> Bool {
        // Two parents with exactly one merge base: after criss-cross merges
        // the base libgit2 would pick is the committer's choice (by date).
        // The settings file is read last line first, so order matters there.
        guard node.parents.count == 2, mergeChecks > 0, !changes.contains(where: { $0.path == VaultConfig.fileName }) else { return false }
        mergeChecks -= 1
        let bases = try repo.mergeBases(node.parents[0], node.parents[1])
        guard bases.count == 1 else { return false }
        let base = try repo.node(bases[0]).tree
        let sides = try node.parents.map { try tree(of: $0) }
        for change in changes {
            let baseLines = try lines(at: change.path, in: base)
            let sideLines = try sides.map { try lines(at: change.path, in: $0) }
            let kept = baseLines.filter { line in sideLines.allSatisfy { $0.contains(line) } }
            let added = sideLines.reduce(into: Set<String>()) { $0.formUnion($1.subtracting(baseLines)) }
            guard try lines(at: change.path, in: node.tree) == kept.union(added) else { return false }
        }
        return true
    }

    /// A file's lines as a set, blank lines and comments left out.
    private func lines(at path: String, in tree: ObjectID?) throws -> Set<String> {
        guard let tree, let blob = try walker.blob(at: path, inTree: tree) else { return [] }
        guard try walker.size(of: blob) <= TrustChain.maxFileSize else { throw VaultError.trustFileTooLarge(path: path) }
        return Set(try text(blob).split(separator: "\n").map { $0.trimming(" \t\r") }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }

    private mutating func tree(of commit: ObjectID) throws -> ObjectID {
        if let tree = trees[commit] { return tree }
        let tree = try repo.node(commit).tree
        trees[commit] = tree
        return tree
    }

    /// A trust file's text; one too big to be coffer's is refused unread.
    private func text(_ blob: ObjectID) throws -> String {
        guard try walker.size(of: blob) <= TrustChain.maxFileSize else { throw VaultError.trustFileTooLarge(path: blob.hex) }
        return String(decoding: try repo.readBlob(blob), as: UTF8.self)
    }

    /// The readers the nearest `.recipients` at or above `scope` names in `tree`.
    private func governing(_ scope: Scope?, in tree: ObjectID?) -> [NamedRecipient] {
        guard let tree else { return [] }
        var dir = scope
        while let d = dir {
            if let blob = try? walker.blob(at: d.recipientsPath, inTree: tree) { return TrustChain.readers(leniently: (try? text(blob)) ?? "") }
            dir = d.parent
        }
        return []
    }

    // MARK: - Lines

    /// A signer as trust knows it: a name and a key.
    struct Pair: Hashable {
        let principal: String
        let key: SSHEd25519PublicKey
        init(_ entry: AllowedSigner) {
            principal = entry.principals.first ?? ""
            key = entry.key
        }
    }

    /// One entry per principal, comments dropped.
    static func single(_ entries: [AllowedSigner]) -> [AllowedSigner] {
        entries.flatMap { entry in
            entry.principals.compactMap { try? AllowedSigner(principals: [$0], key: entry.key, options: entry.options) }
        }
    }

    static func byPrincipal(_ entries: [AllowedSigner]) -> [Pair: AllowedSigner] {
        Dictionary(single(entries).map { (Pair($0), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every line of a `.signers` that parses; the rest are skipped.
    static func byPrincipal(leniently text: String) -> [Pair: AllowedSigner] {
        byPrincipal(text.split(separator: "\n").compactMap { line in
            let content = line.trimming(" \t\r")
            return content.isEmpty || content.hasPrefix("#") ? nil : try? AllowedSigner(parsing: String(content))
        })
    }

    /// Every line of a `.recipients` that parses; the rest are skipped.
    static func readers(leniently text: String) -> [NamedRecipient] {
        text.split(separator: "\n").flatMap { line in
            (try? RecipientsFile(parsing: String(line), path: RecipientsFile.fileName).entries) ?? []
        }
    }
}
