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

    public var description: String {
        switch self {
        case .libraryUnavailable(let why): return "libgit2 is unavailable: \(why)"
        case .pathConflict(let path): return "\(path) conflicts with a file or directory of the same name"
        case .treeTooDeep(let path, let limit): return "the tree at \(path) is nested more than \(limit) levels deep"
        case .call(let function, let code, let message): return "\(function) failed (\(code)): \(message)"
        }
    }
}
