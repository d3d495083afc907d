#if canImport(Glibc)
import Glibc
#endif
import GitStore

/// Something `verify --history` found.
public struct HistoryFinding: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// A commit with no signature.
        case unsigned
        /// A signature that does not verify.
        case badSignature = "bad-signature"
        /// Signed by a key the chain does not trust there.
        case untrustedSigner = "untrusted-signer"
        /// A change to `.signers`, `.recipients` or `.coffer-config` the chain did not accept.
        case heldBack = "held-back"
        /// HEAD no longer holds a commit this clone verified.
        case rewritten
        /// This clone has no root of trust to check against.
        case notPinned = "not-pinned"
    }

    public let kind: Kind
    /// The commit (hex), when the finding is about one.
    public let commit: String?
    public let detail: String
    /// The trust files a held-back change touched.
    public let paths: [String]
}

/// What `verify --history` checked and found.
public struct HistoryReport: Equatable, Sendable {
    /// How many commits were looked at.
    public let checked: Int
    public let findings: [HistoryFinding]
    /// False when the vault's trusted setting turns signing off.
    public let signingOn: Bool
}

extension Vault {
    /// Walks the history this clone vouches for — from its pinned root to
    /// HEAD, or `range` (`A..B`, either side a revision; `B` alone means
    /// root..B) — judging it afresh from the pinned signers. Reports every
    /// unsigned, badly signed or untrusted commit and every trust change the
    /// chain holds back, and a history rewritten under a commit this clone
    /// verified. Reads only.
    public func verifyHistory(range: String? = nil) throws -> HistoryReport {
        let repo = try repo()
        guard let state = try TrustState.load(gitDirectory: gitDirectory) else {
            return HistoryReport(checked: 0, findings: [HistoryFinding(kind: .notPinned, commit: nil,
                detail: "this clone has pinned no signers, so nothing can be verified", paths: [])], signingOn: true)
        }
        let (from, to) = try resolve(range: range, in: repo, default: state.pinned)
        var findings: [HistoryFinding] = []
        if try !repo.isAncestor(state.verified, of: to) && !repo.isAncestor(to, of: state.verified) {
            findings.append(HistoryFinding(kind: .rewritten, commit: state.verified.hex,
                                           detail: "HEAD (\(to.hex.prefix(12))) no longer contains commit \(state.verified.hex.prefix(12)), which this clone verified",
                                           paths: []))
        }
        guard try repo.isAncestor(state.pinned, of: to) else {
            findings.append(HistoryFinding(kind: .rewritten, commit: state.pinned.hex,
                                           detail: "the history does not contain the pinned root \(state.pinned.hex.prefix(12)): it was replaced", paths: []))
            return HistoryReport(checked: 0, findings: findings, signingOn: state.signing)
        }
        let wanted = Set(try repo.commits(from: to, hiding: from.map { [$0] } ?? []).map(\.id))
        // Before the root, signatures only, against the pinned signers.
        let root = TrustChain.Snapshot(signers: state.root.signers, signing: state.root.signing)
        let early = try TrustChain(repo: repo, start: root, tainted: false, removed: [], now: Int64(time(nil)))
        for node in try repo.commits(from: state.pinned) where wanted.contains(node.id) {
            if let problem = try early.signatureOnly(node) { findings.append(.signature(problem, node.id)) }
        }
        let nodes = try repo.commits(from: to, hiding: [state.pinned])
        let (chain, verdicts) = try TrustChain.judge(nodes, repo: repo, start: root, tainted: false, removed: state.removed,
                                                     everySignature: true)
        for verdict in verdicts where wanted.contains(verdict.node.id) {
            if let problem = verdict.signature { findings.append(.signature(problem, verdict.node.id)) }
            if let reason = verdict.held {
                findings.append(HistoryFinding(kind: .heldBack, commit: verdict.node.id.hex, detail: "its change to trust files is not trusted: \(reason)",
                                               paths: verdict.changes.map(\.path)))
            }
        }
        return HistoryReport(checked: wanted.count, findings: findings, signingOn: chain.snapshot(at: to).signing)
    }

    /// `A..B`, `B` or nil as (A, B); A defaults to `start`'s… nothing when B alone.
    private func resolve(range: String?, in repo: GitRepository, default start: ObjectID) throws -> (ObjectID?, ObjectID) {
        guard let range else {
            guard let head = try repo.head() else { throw VaultError.noSuchVaultRevision(revision: "HEAD") }
            return (start, head)
        }
        var parts = [Substring(range)]
        if let dots = range.firstRange(of: "..") { parts = [range[..<dots.lowerBound], range[dots.upperBound...]] }
        func commit(_ text: Substring) throws -> ObjectID {
            guard let id = try repo.resolve(text.isEmpty ? "HEAD" : String(text)) else { throw VaultError.noSuchVaultRevision(revision: String(text)) }
            return id
        }
        if parts.count == 1 { return (nil, try commit(parts[0])) }
        return (try commit(parts[0]), try commit(parts[1]))
    }
}

extension HistoryFinding {
    static func signature(_ problem: HoldReason, _ commit: ObjectID) -> HistoryFinding {
        let kind: Kind
        switch problem {
        case .unsigned: kind = .unsigned
        case .badSignature: kind = .badSignature
        default: kind = .untrustedSigner
        }
        return HistoryFinding(kind: kind, commit: commit.hex, detail: problem.description, paths: [])
    }
}
