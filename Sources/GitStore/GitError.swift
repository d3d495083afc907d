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

    public var description: String {
        switch self {
        case .libraryUnavailable(let why): return "libgit2 is unavailable: \(why)"
        case .pathConflict(let path): return "\(path) conflicts with a file or directory of the same name"
        case .treeTooDeep(let path, let limit): return "the tree at \(path) is nested more than \(limit) levels deep"
        case .call(let function, let code, let message): return "\(function) failed (\(code)): \(message)"
        case .indexLockLost(let path): return "\(path) was removed or replaced while coffer held it; the index was not updated"
        case .indexHasConflicts: return "the index holds merge conflicts; coffer does not rewrite it"
        }
    }
}
