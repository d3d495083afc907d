#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix
import SSHSig

/// A change of `.signers`, with the bytes HEAD held when it was planned: if
/// they changed before the commit, nothing is written (no lost update).
struct SignersEdit {
    let file: SignersFile
    let base: [UInt8]?
    /// After `coffer: <action>` in the commit's subject.
    let summary: String
    let trailers: [String]
}

/// Managing who may sign for the vault: `.signers` at its root.
extension Vault {
    /// The signers the vault's committed `.signers` names, one per
    /// principal of each line, in file order; none when it has no
    /// `.signers`. A `.signers` in the work tree that differs from HEAD's
    /// (edited, deleted or added by hand, not committed) is refused: trust
    /// comes from the history, where a change is a reviewed commit.
    ///
    /// A key found here may sign only as its line permits: check
    /// `Signer.permits(namespace:at:)`, or use `trustedSigners(for:…)`.
    public func signers() throws -> [Signer] {
        try committedSigners().file?.signers ?? []
    }

    /// The signers `key` is, as far as the signers this clone trusts let it
    /// sign for `namespace` at `time` (seconds since 1970); empty when it is
    /// not trusted. Trusted means the chain of trust's signers: a `.signers`
    /// line someone pushed without a trusted signature counts for nothing.
    /// A clone that pinned no root (a fresh clone) falls back to the
    /// committed `.signers`, as it trusts HEAD's readers on first use.
    public func trustedSigners(for key: SSHEd25519PublicKey, namespace: String, at time: Int64) throws -> [Signer] {
        let signers = try trustState()?.trustedSigners ?? self.signers()
        return signers.filter { $0.key == key && $0.permits(namespace: namespace, at: time) }
    }

    /// Plans adding `signer` to `.signers` (creating it if the vault has
    /// none), one commit. The same name with the same key already there is
    /// `VaultError.alreadySigner`.
    public func planAddSigner(_ signer: Signer) throws -> ChangePlan {
        let (file, base) = try committedSigners()
        let current = file ?? SignersFile(signers: [])
        if current.signers.contains(where: { $0.name == signer.name && $0.key == signer.key }) {
            throw VaultError.alreadySigner(name: signer.name, fingerprint: signer.fingerprint)
        }
        let edit = SignersEdit(file: current.adding(signer), base: base, summary: "\(signer.name) \(signer.fingerprint)",
                               trailers: ["Coffer-Signer-Added: \(signer.name) \(signer.fingerprint)"])
        var plan = ChangePlan(action: .addSigner, changes: [.setSigners(edit)], secretCount: 0)
        plan.addedSigners = [signer]
        return plan
    }

    /// Plans removing what `selector` names from `.signers`, one commit:
    /// a key (every line that lists it) or a name (that principal on every
    /// line). Leaving `.signers` without anyone is refused.
    public func planRemoveSigner(_ selector: SignerSelector) throws -> ChangePlan {
        let (file, base) = try committedSigners()
        guard let file else { throw VaultError.notASigner(selector.description) }
        let edited = file.removing(selector)
        let kept = edited.signers
        let removed = file.signers.filter { signer in !kept.contains { $0.name == signer.name && $0.key == signer.key } }
        guard !removed.isEmpty else { throw VaultError.notASigner(selector.description) }
        guard !edited.signers.isEmpty else { throw VaultError.lastSigner(selector.description) }
        let summary = removed.map(\.description).joined(separator: ", ")
        let edit = SignersEdit(file: edited, base: base, summary: summary,
                               trailers: removed.map { "Coffer-Signer-Removed: \($0.name) \($0.fingerprint)" })
        var plan = ChangePlan(action: .removeSigner, changes: [.setSigners(edit)], secretCount: 0)
        plan.removedSigners = removed
        return plan
    }

    /// The `.signers` change that puts `new` in place of every key in `old`
    /// (`identity rotate`); nil when `.signers` lists none of them.
    func signersReplacing(_ old: Set<SSHEd25519PublicKey>, with new: SSHEd25519PublicKey) throws -> SignersEdit? {
        let (file, base) = try committedSigners()
        guard let file, file.entries.contains(where: { old.contains($0.key) }) else { return nil }
        let replaced = file.signers.filter { old.contains($0.key) }
        // A minute's grace: the commit's time is taken a moment after this one.
        let until = Int64(time(nil)) + 60
        return SignersEdit(file: file.replacing(old, with: new, retiredAt: until), base: base, summary: "",
                           trailers: replaced.map { "Coffer-Signer-Rotated: \($0.name) \($0.fingerprint) -> \(new.fingerprint)" })
    }

    /// The work tree's `.signers`, refused unless it is HEAD's, and HEAD's bytes.
    func committedSigners() throws -> (file: SignersFile?, base: [UInt8]?) {
        let bytes = try committedRootFile(SignersFile.fileName, limit: SignersFile.maxSize, uncommitted: VaultError.uncommittedSigners)
        let file = try bytes.map { try SignersFile(parsing: String(decoding: $0, as: UTF8.self), path: SignersFile.fileName) }
        return (file, bytes)
    }

    /// A trust file at the vault's root (`.signers`, `.coffer-config`) as
    /// HEAD holds it, nil when absent. The work tree's copy must be HEAD's:
    /// trust comes from the history, where a change is a reviewed commit,
    /// so one edited, added or deleted by hand is refused (`uncommitted`).
    func committedRootFile(_ name: String, limit: Int, uncommitted: (String) -> VaultError) throws -> [UInt8]? {
        if let link = Paths.firstSymlink(below: root, along: name) { throw VaultError.symlinkInVault(path: link) }
        let working: [UInt8]?
        do {
            working = Files.exists(path(name)) ? try Files.readRegularFile(path: path(name), limit: limit) : nil
        } catch let error as FileError {
            throw VaultError.file(error)
        }
        let repo = try repo()
        let committed = try repo.head().flatMap { try repo.blob(at: name, in: $0) }.map { try repo.readBlob($0) }
        guard working == committed else { throw uncommitted(name) }
        return committed
    }
}
