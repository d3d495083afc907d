/// Something opening a vault found and left for the user, without failing:
/// finishing a crashed write met a lock file it cannot prove is its own, and
/// coffer never deletes another process's lock. Front ends show these; the
/// library only names the file.
public enum VaultNotice: Equatable, Sendable, CustomStringConvertible {
    /// The interrupted write is committed and its files are in the work tree,
    /// but the git index still lacks it: another process holds `lock`. Until
    /// coffer updates the index, a `git commit` would undo that write.
    case indexPending(lock: String)
    /// A lock file a crashed coffer write could have left does not hold what
    /// coffer writes, so it belongs to someone else and stays.
    case foreignLockLeft(path: String)

    /// One line for a person.
    public var description: String {
        switch self {
        case .indexPending(let lock):
            return "the last coffer write is committed but not yet in the git index: \(Text.shown(lock)) is held by another process"
        case .foreignLockLeft(let path):
            return "\(Text.shown(path)) was left by another process, not by coffer; it stays"
        }
    }
}
