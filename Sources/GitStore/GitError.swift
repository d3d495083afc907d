/// Failures of the git layer. Cases carry function names, libgit2's return
/// codes and its messages (which name refs and paths, never file contents).
public enum GitError: Error, Equatable, CustomStringConvertible {
    /// libgit2 could not be loaded or lacks a function we need.
    case libraryUnavailable(String)
    /// A change would replace a file by a directory or the reverse.
    case pathConflict(path: String)
    /// A tree nested deeper than coffer walks (a hostile push, not a vault).
    case treeTooDeep(path: String, limit: Int)
    /// A libgit2 call failed.
    case call(function: String, code: Int32, message: String)
    /// The index lock coffer took no longer holds its token (removed by
    /// hand, perhaps taken by another git), so the index was not replaced.
    case indexLockLost(path: String)
    /// The index holds conflict stages (an unfinished merge) that rewriting it would drop.
    case indexHasConflicts
    /// A libgit2 call failed because a system call did; `errno` is the one
    /// its message quotes (ENOSPC, EROFS…: see `StorageProblem.errnos`).
    case system(function: String, errno: Int32, message: String)
    /// `ref` stayed locked by another process (its `lockFile` present) for
    /// all of `waitedSeconds`: a git command such as gc or pack-refs.
    case refLocked(ref: String, lockFile: String, waitedSeconds: Double)
    /// `ref` no longer held the commit a compare-and-swap expected.
    case staleHead(ref: String)

    public var description: String {
        switch self {
        case .libraryUnavailable(let why): return "libgit2 is unavailable: \(why)"
        case .pathConflict(let path): return "\(path) conflicts with a file or directory of the same name"
        case .treeTooDeep(let path, let limit): return "the tree at \(path) is nested more than \(limit) levels deep"
        case .call(let function, let code, let message): return "\(function) failed (\(code)): \(message)"
        case .indexLockLost(let path): return "\(path) was removed or replaced while coffer held it; the index was not updated"
        case .indexHasConflicts: return "the index holds merge conflicts; coffer does not rewrite it"
        case .system(let function, _, let message): return "\(function) failed: \(message)"
        case .refLocked(let ref, let lockFile, let seconds):
            return "\(ref) is locked by another git process (git gc or pack-refs, perhaps): \(lockFile) was held "
                + "for all of the \(GitError.seconds(seconds)) coffer waited"
        case .staleHead(let ref): return "\(ref) moved while coffer was writing; nothing was changed"
        }
    }
}

extension GitError {
    /// "10 s", "0.5 s".
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
