import GitStore
import Posix

/// The follow-up to a merge made without coffer (a stock `git pull`): git
/// runs the merge driver only for files both sides changed, so a secret one
/// side left alone keeps the readers of its side while the other side added
/// or removed a reader of its scope. This re-seals exactly those files.
extension Vault {
    /// Plans re-sealing every committed secret that `verify` finds sealed for
    /// other readers than its scope's: re-wrapped where readers were only
    /// added (payload kept), re-keyed where one was dropped; one commit.
    /// The readers are the ones this clone accepted or the chain of trust
    /// proved: a reader it has not is refused when the plan is applied
    /// (`VaultError.unacceptedReaders`), and a `.recipients` edited by hand
    /// stops it too. After a removal the outcome's `exposed` lists the ids
    /// whose files named a reader who left: they may still know those values.
    public func planReseal() throws -> ChangePlan {
        let report = try verify(.all, identities: [])
        var changes: [VaultChange] = []
        var dropped: [SecretID: Set<String>] = [:]
        for case .wrongReaders(let id, _, _, let extra) in report.drift {
            changes.append(.rewrap(id))
            if !extra.isEmpty { dropped[id] = Set(extra) }
        }
        var plan = ChangePlan(action: .reseal, changes: changes, secretCount: changes.count)
        plan.droppedReaders = dropped
        return plan
    }
}

extension Vault {
    /// True when git's merge state names a merge HEAD already records: git
    /// runs the post-merge hook after making the merge commit but before
    /// removing `MERGE_HEAD`, and the follow-up the hook runs must not be
    /// refused as if the merge were unfinished. Nothing else is in progress.
    func mergeIsCommitted() -> Bool {
        let others = ["CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"]
        guard !others.contains(where: { Files.exists(gitDirectory + "/" + $0) }),
              let text = try? Files.readRegularFile(path: gitDirectory + "/MERGE_HEAD", limit: 1 << 16) else { return false }
        let merged = String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace).map { ObjectID(hex: String($0)) }
        guard !merged.isEmpty, !merged.contains(nil), let repo = try? repo(), let head = try? repo.head(),
              let parents = try? repo.node(head).parents.dropFirst() else { return false }
        return merged.allSatisfy { parents.contains($0!) }
    }
}
