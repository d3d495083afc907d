import Age
import GitStore
import SSHSig

/// Decides, commit by commit, which changes to the vault's trust files
/// (`.signers`, every `.recipients`, `.coffer-config`) to believe.
///
/// The rules: a commit's changes to them are trusted when it is signed by
/// a key that `.signers`, as its first parent was trusted to have it,
/// lists for namespace `git` (a line's `valid-before` that has passed by
/// now, or a key removed earlier, authorizes nothing: a commit's own time
/// is the committer's claim). A merge needs no signature when each changed
/// trust file holds exactly the set-merge of its parents' lines (a line
/// stays if every parent kept it from the merge base, and arrives if any
/// parent added it) and no parent's own change was held back — so a stock
/// `git pull` merge keeps the chain. Anything else is held back, its
/// reason recorded, and nothing of it is applied here.
///
/// What a trusted change does is applied as a change, not as a state: the
/// lines it added and removed, so that a line an untrusted commit slipped
/// in earlier is not blessed by a later trusted edit of the same file.
struct TrustChain {
    static let trustFiles: Set<String> = [RecipientsFile.fileName, SignersFile.fileName, VaultConfig.fileName]

    /// What the chain trusts at a commit.
    struct Snapshot: Equatable, Sendable {
        var signers: [AllowedSigner]
        var signing: Bool
    }

    /// One commit's verdict.
    struct Verdict {
        let node: CommitNode
        let changes: [FileChange]
        /// Nil when its changes (if any) were trusted.
        let held: HoldReason?
        /// Why its signature is not a trusted signer's (nil: it is).
        let signature: HoldReason?
        /// Readers each changed `.recipients` added and removed, when trusted.
        let readers: [ReaderDelta]
    }

    struct ReaderDelta {
        let scope: Scope
        let added: [NamedRecipient]
        let removed: Set<X25519Recipient>
        /// The scope's `.recipients` was deleted: its directory falls to the scope above.
        let deleted: Bool
    }

    let repo: GitRepository
    private let walker: PathWalker
    /// The snapshot for parents outside the walk.
    private let start: Snapshot
    private(set) var removed: [TrustState.RemovedSigner]
    private var snapshots: [ObjectID: Snapshot] = [:]
    private var trees: [ObjectID: ObjectID] = [:]
    private var heldCommits: Set<ObjectID>
    private let now: Int64

    init(repo: GitRepository, start: Snapshot, removed: [TrustState.RemovedSigner], held: Set<ObjectID>, now: Int64) throws {
        self.repo = repo
        walker = try PathWalker(repo)
        self.start = start
        self.removed = removed
        heldCommits = held
        self.now = now
    }

    /// The snapshot after `commit` (visited, or else the start).
    func snapshot(at commit: ObjectID?) -> Snapshot {
        commit.flatMap { snapshots[$0] } ?? start
    }

    /// Visits commits parents first (as `GitRepository.commits` lists them).
    mutating func visit(_ node: CommitNode) throws -> Verdict {
        let first = node.parents.first
        var snapshot = self.snapshot(at: first)
        let parentTree = try first.map { try tree(of: $0) }
        trees[node.id] = node.tree
        let changes = try repo.changedFiles(named: TrustChain.trustFiles, from: parentTree, to: node.tree).filter(TrustChain.isTrustPath)
        let signature = try signatureProblem(node, trusting: snapshot)
        guard !changes.isEmpty else {
            snapshots[node.id] = snapshot
            return Verdict(node: node, changes: [], held: nil, signature: signature, readers: [])
        }
        var held = signature
        if let reason = held, reason != .badSignature, node.parents.count >= 2,
           !node.parents.contains(where: heldCommits.contains), try isSetMerge(node, changes) {
            held = nil
        }
        if changes.contains(where: \.otherKind) { held = held ?? .untrustedMerge }
        guard held == nil else {
            heldCommits.insert(node.id)
            snapshots[node.id] = snapshot
            return Verdict(node: node, changes: changes, held: held, signature: signature, readers: [])
        }
        var deltas: [ReaderDelta] = []
        for change in changes {
            switch change.path {
            case SignersFile.fileName:
                let old = try signerLines(change.old), new = try signerLines(change.new)
                let gone = old.filter { line in !new.contains(line) }
                snapshot.signers.removeAll { gone.contains($0) }
                snapshot.signers += new.filter { line in !old.contains(line) && !snapshot.signers.contains(line) }
                removed += gone.map { TrustState.RemovedSigner(commit: node.id, entry: $0) }
            case VaultConfig.fileName:
                snapshot.signing = try change.new.map { try config($0).signing } ?? true
            default:
                guard let scope = Vault.scope(ofRecipientsPath: change.path) else { continue }
                let old = try change.old.map(readers(_:)) ?? governing(scope.parent, in: parentTree)
                let new = try change.new.map(readers(_:)) ?? governing(scope.parent, in: node.tree)
                let before = Set(old.map(\.recipient)), after = Set(new.map(\.recipient))
                deltas.append(ReaderDelta(scope: scope, added: new.filter { !before.contains($0.recipient) },
                                           removed: before.subtracting(after), deleted: change.new == nil))
            }
        }
        snapshots[node.id] = snapshot
        return Verdict(node: node, changes: changes, held: nil, signature: signature, readers: deltas)
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
            let namespace = CommitSigner.namespace
            // A line bounded by valid-before (a key retired by rotation) authorizes nothing new.
            if snapshot.signers.contains(where: { $0.key == key && $0.validBefore == nil && $0.permits(namespace: namespace, at: node.time)
                && $0.permits(namespace: namespace, at: now) }) {
                return nil
            }
            if let gone = removed.last(where: { $0.entry.key == key }) {
                return .removedSigner(name: gone.entry.principals.joined(separator: ","), fingerprint: key.fingerprint)
            }
            return .unknownSigner(fingerprint: key.fingerprint)
        }
    }

    /// True when every changed trust file holds the set-merge of the merge's
    /// two parents' lines, from their merge base.
    private mutating func isSetMerge(_ node: CommitNode, _ changes: [FileChange]) throws -> Bool {
        guard node.parents.count == 2 else { return false }
        let base = try repo.mergeBase(node.parents[0], node.parents[1]).map { try repo.node($0).tree }
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
        let text = String(decoding: try repo.readBlob(blob), as: UTF8.self)
        return Set(text.split(separator: "\n").map { $0.trimming(" \t\r") }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }

    private mutating func tree(of commit: ObjectID) throws -> ObjectID {
        if let tree = trees[commit] { return tree }
        let tree = try repo.node(commit).tree
        trees[commit] = tree
        return tree
    }

    private func signerLines(_ blob: ObjectID?) throws -> [AllowedSigner] {
        guard let blob else { return [] }
        return try SignersFile(parsing: String(decoding: try repo.readBlob(blob), as: UTF8.self), path: SignersFile.fileName).entries
    }

    private func config(_ blob: ObjectID) throws -> VaultConfig {
        try VaultConfig(parsing: String(decoding: try repo.readBlob(blob), as: UTF8.self), path: VaultConfig.fileName)
    }

    private func readers(_ blob: ObjectID) throws -> [NamedRecipient] {
        try RecipientsFile(parsing: String(decoding: try repo.readBlob(blob), as: UTF8.self), path: RecipientsFile.fileName).entries
    }

    /// The readers the nearest `.recipients` at or above `scope` names in `tree`.
    private func governing(_ scope: Scope?, in tree: ObjectID?) throws -> [NamedRecipient] {
        guard let tree else { return [] }
        var dir = scope
        while let d = dir {
            if let blob = try walker.blob(at: d.recipientsPath, inTree: tree) { return (try? readers(blob)) ?? [] }
            dir = d.parent
        }
        return []
    }
}
