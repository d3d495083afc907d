#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix
import SSHSig

extension Vault {
    /// This clone's accepted readers and trust state, both brought up to
    /// HEAD: each commit since the last verified one is judged by
    /// `TrustChain`, its trusted reader changes accepted, its signer and
    /// setting changes applied, the rest held back. Nil trust: the clone
    /// has pinned no signers (a fresh clone), and readers follow the
    /// hardening rules alone. The caller holds the vault lock or only reads
    /// (the files are written atomically, and two readers write the same).
    func trusted() throws -> (trust: TrustState?, accepted: AcceptedReaders) {
        try trusted(upTo: nil, saving: true)
    }

    /// The same judgement up to `commit` (nil: HEAD); `saving: false` leaves
    /// this clone's files as they are (a merge judged before it is made).
    func trusted(upTo commit: ObjectID?, saving: Bool) throws -> (trust: TrustState?, accepted: AcceptedReaders) {
        var accepted = try acceptedReadersSeeded()
        guard var state = try TrustState.load(gitDirectory: gitDirectory) ?? seedTrust() else { return (nil, accepted) }
        let repo = try repo()
        guard let head = try commit ?? repo.head(), head != state.verified else { return (state, accepted) }
        if try repo.isAncestor(head, of: state.verified) {
            // Rewound (a reset to an older commit): what was judged stays judged.
            state.verified = head
            if saving { try? state.save(gitDirectory: gitDirectory) }
            return (state, accepted)
        }
        // Anything but a fast-forward (a rebase, an amend, a force-push)
        // replaced commits this clone verified: judging it afresh could
        // bring back what a trusted change took away. A person decides.
        guard try repo.isAncestor(state.verified, of: head) else {
            throw VaultError.historyRewritten(verified: state.verified.hex, head: head.hex)
        }
        let nodes = try repo.commits(from: head, hiding: [state.verified])
        let (chain, verdicts) = try TrustChain.judge(nodes, repo: repo, start: .init(signers: state.signers, signing: state.signing),
                                                     tainted: state.tainted, removed: state.removed,
                                                     heldBefore: Set(state.held.map(\.commit)))
        var changed = false
        for verdict in verdicts {
            // Judged again after a rewind, a held commit is recorded once.
            if let reason = verdict.held, !state.held.contains(where: { $0.commit == verdict.node.id }) {
                state.held.append(HeldChange(commit: verdict.node.id, reason: reason, paths: verdict.changes.map(\.path)))
            }
            for delta in verdict.readers {
                accepted.apply(delta)
                changed = true
            }
        }
        let end = chain.snapshot(at: head)
        state.signers = end.signers
        state.signing = end.signing
        state.removed = chain.removed
        state.tainted = chain.isTainted(head)
        state.verified = head
        // A read-only clone still judges; it judges again next time.
        if saving {
            if changed { try? accepted.save(gitDirectory: gitDirectory) }
            try? state.save(gitDirectory: gitDirectory)
        }
        return (state, accepted)
    }

    /// The trust state brought up to HEAD (nil: no signers pinned).
    func trustState() throws -> TrustState? {
        try trusted().trust
    }

    /// A clone coffer wrote before it kept a trust state pins, once, the
    /// `.signers` of the newest commit coffer itself made here (its reflog
    /// says which), as its accepted readers were seeded: what was pulled
    /// since is judged by the chain. A clone coffer never wrote pins nothing.
    private func seedTrust() throws -> TrustState? {
        let marker = gitDirectory + "/" + TrustState.unpinnedMarker
        guard !Files.exists(marker) else { return nil }
        let repo = try repo()
        guard let own = CofferReflog.newestOwnCommit(gitDirectory: gitDirectory), try repo.resolve(own.hex) == own,
              let state = try pinState(at: own, only: nil)
        else {
            // A clone this version met unpinned stays so until a person
            // pins it: its own commits later must not look like an upgrade's.
            try? CloneFile.write("", to: TrustState.unpinnedMarker, gitDirectory: gitDirectory, durable: false)
            return nil
        }
        try? state.save(gitDirectory: gitDirectory)
        return state
    }

    /// The trust state that pins `commit`'s `.signers` (only the keys in
    /// `only`, when given) and its signing setting; nil when it has no `.signers`.
    func pinState(at commit: ObjectID, only: Set<SSHEd25519PublicKey>?) throws -> TrustState? {
        let repo = try repo()
        guard let blob = try repo.blob(at: SignersFile.fileName, in: commit) else { return nil }
        let file = try SignersFile(parsing: String(decoding: try repo.readBlob(blob), as: UTF8.self), path: SignersFile.fileName)
        let config = try repo.blob(at: VaultConfig.fileName, in: commit).map {
            try VaultConfig(parsing: String(decoding: try repo.readBlob($0), as: UTF8.self), path: VaultConfig.fileName)
        } ?? VaultConfig()
        let signers = file.entries.filter { only?.contains($0.key) ?? true }
        return TrustState(pinned: commit, signing: config.signing, signers: signers)
    }
}

extension AcceptedReaders {
    /// Applies a trusted change of one scope's readers.
    mutating func apply(_ delta: TrustChain.ReaderDelta) {
        if delta.deleted {
            scopes[delta.scope] = nil
            return
        }
        var readers = scopes[delta.scope] ?? baseline(for: delta.scope)?.readers ?? []
        readers.removeAll { delta.removed.contains($0.recipient) }
        readers += delta.added.filter { added in !readers.contains { $0.recipient == added.recipient } }
        scopes[delta.scope] = readers
    }
}
