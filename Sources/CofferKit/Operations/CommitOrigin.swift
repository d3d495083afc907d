import GitStore

/// A commit as `history`, `log` and `diff` show it: who signed it, and the
/// coffer action it counts as. The `Coffer-Action` trailer is anyone's to
/// write (stock git commits any message), so the action it claims is shown
/// only on a commit this clone verifies; any other commit shows as `git`,
/// with its claim kept beside it, so a hand-made commit never passes for
/// one of coffer's. Where the vault's trusted setting turned signing off,
/// nothing is verifiable and the claim is all there is: it is shown.
public struct CommitOrigin: Equatable, Sendable {
    /// What a commit coffer did not make, or whose claim does not count, shows as.
    public static let git = "git"

    /// The commit id (hex).
    public let commit: String
    /// The commit time, seconds since 1970.
    public let time: Int64
    /// The commit author's name (text from outside: escape before showing it).
    public let author: String
    /// Who signed the commit, as this clone can tell.
    public let signature: CommitSignature
    /// The action shown (`Action`'s raw values, or `git`): the claimed one
    /// when the signature verifies or signing is off, else `git`.
    public let action: String
    /// The action the commit's message claims (`git` when it names none),
    /// whether or not it counts.
    public let claimedAction: String
}

extension SignatureChecker {
    /// `info` as history shows it, `claimed` being its trailer's action.
    func origin(of info: CommitInfo, claiming claimed: String) throws -> CommitOrigin {
        let signature = try check(info.id)
        let counts = signature.mark == .verified || !signingOn
        return CommitOrigin(commit: info.id.hex, time: info.time, author: info.author.name, signature: signature,
                            action: counts ? claimed : CommitOrigin.git, claimedAction: claimed)
    }
}
