import Age

/// A change worked out but not yet made: what it will touch and what the
/// user should agree to first. A front end shows `risks`, asks, calls
/// `confirm()`, then `Vault.apply(_:identities:progress:)`. Applying a plan
/// whose risks were not confirmed throws `VaultError.unconfirmed`.
public struct ChangePlan {
    /// What the commit will record.
    public let action: Action
    /// The scopes whose readers change, with their readers afterwards.
    public let readers: [ScopeReaders]
    /// How many secrets the change touches.
    public let secretCount: Int
    /// What the user should agree to before `apply`; empty for most changes.
    public let risks: [Risk]
    public private(set) var isConfirmed: Bool
    /// Readers this change takes away (`recipients rm`).
    public internal(set) var removedReaders: [NamedRecipient] = []
    /// Signers this change adds to `.signers` (`signers add`) or takes out (`signers rm`).
    public internal(set) var addedSigners: [Signer] = []
    public internal(set) var removedSigners: [Signer] = []
    /// The reader the user asked to add (`recipients add`, the new key of
    /// `identity rotate`): sealing for it needs no other acceptance.
    var grantedReader: ReaderKey?
    /// Old keys replaced by `identity rotate`, beside `removedReaders`.
    var revokedKeys: [ReaderKey] = []
    /// Per re-sealed id, the fingerprints its file named that its scope no
    /// longer does (`planReseal`): who may still know its value.
    var droppedReaders: [SecretID: Set<String>] = [:]
    /// Work-tree paths to move aside and restore first (`verify --fix`).
    var workTreeRepairs: [String] = []
    var changes: [VaultChange]

    init(action: Action, changes: [VaultChange], readers: [ScopeReaders] = [], secretCount: Int, risks: [Risk] = []) {
        self.action = action
        self.changes = changes
        self.readers = readers
        self.secretCount = secretCount
        self.risks = risks
        isConfirmed = risks.isEmpty
    }

    /// True when applying the plan would change nothing (and make no
    /// commit): the vault already is as asked.
    public var changesNothing: Bool { changes.isEmpty && workTreeRepairs.isEmpty }

    /// Records that the user agreed to the risks.
    public mutating func confirm() { isConfirmed = true }

    /// The scopes among `scopes` that none of `me` reads.
    static func unreadable(_ scopes: [ScopeReaders], by me: Set<ReaderKey>?) -> [Risk] {
        guard let me else { return [] }
        let lost = scopes.filter { !$0.readers.contains { me.contains($0.recipient) } }.map(\.scope).sorted()
        return lost.isEmpty ? [] : [.youWouldNotRead(lost)]
    }
}

extension Vault {
    /// Makes the planned change as one commit. `progress` hears (done,
    /// total) while existing files are re-sealed.
    public func apply(_ plan: ChangePlan, identities: [Identity], progress: ((Int, Int) -> Void)? = nil) throws -> ChangeOutcome {
        guard plan.isConfirmed else { throw VaultError.unconfirmed(plan.risks) }
        let setAside = plan.workTreeRepairs.isEmpty ? [] : try writing { try repairWorkTree(plan.workTreeRepairs) }
        var outcome = plan.changes.isEmpty ? ChangeOutcome()
            : try commit(plan.changes, action: plan.action, identities: identities,
                         granted: Set(plan.grantedReader.map { [$0] } ?? []),
                         revoked: Set(plan.removedReaders.map(\.recipient) + plan.revokedKeys), progress: progress)
        outcome.setAside = setAside
        if !plan.removedReaders.isEmpty {
            let gone = Set(plan.removedReaders.map(\.fingerprint))
            outcome.exposed = outcome.written.filter { outcome.previousReaders[$0]?.contains(where: gone.contains) == true }
        }
        if !plan.droppedReaders.isEmpty {
            outcome.exposed += outcome.written.filter { id in
                guard let gone = plan.droppedReaders[id] else { return false }
                return outcome.previousReaders[id]?.contains(where: gone.contains) == true
            }
        }
        return outcome
    }

    /// Runs changes that need no confirmation.
    func commit(_ changes: [VaultChange], action: Action, identities: [Identity],
                granted: Set<ReaderKey> = [], revoked: Set<ReaderKey> = [],
                progress: ((Int, Int) -> Void)? = nil) throws -> ChangeOutcome {
        var outcome = try writing {
            try VaultTransaction.run(self, changes: changes, action: action, identities: identities,
                                     granted: granted, revoked: revoked, progress: progress)
        }
        outcome.workTreePending = outcome.workTreePending.map(explained)
        return outcome
    }
}
