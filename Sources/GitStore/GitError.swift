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
    /// No remote of that name is configured.
    case remoteNotFound(String)
    /// A remote of that name is configured already.
    case remoteExists(String)
    /// git refuses this remote name (quoted: it is the user's input).
    case invalidRemoteName(String)
    /// git refuses this branch name.
    case invalidBranchName(String)
    /// The ssh server's host key is in no known_hosts file: refused, nothing
    /// was transferred. `fingerprint` is OpenSSH's `SHA256:…` form, for the
    /// user to compare out of band before adding the key.
    case unknownHostKey(host: String, keyType: String, fingerprint: String, knownHostsFiles: [String])
    /// The ssh server's host key differs from the one known_hosts holds for
    /// it (or is marked @revoked there): refused, as ssh refuses it.
    case hostKeyMismatch(host: String, keyType: String, fingerprint: String, knownHostsFile: String)
    /// No credential coffer could offer was accepted; `tried` names what was
    /// offered (agent, key files, a credential helper), never a secret.
    case authenticationFailed(url: String, tried: [String])
    /// The remote refused to update `ref` (not a fast-forward, a hook…):
    /// fetch, merge and push again.
    case pushRejected(ref: String, reason: String)
    /// No local branch of that name.
    case branchNotFound(String)
    /// `clone` needs a directory that does not exist or is empty.
    case destinationNotEmpty(path: String)
    /// A helper program coffer runs for a transfer (ssh-keygen, git credential) failed.
    case helperFailed(program: String, reason: String)
    /// A git object (loose, or in a pack) could not be read as git wrote it:
    /// truncated, its hash not its name, a delta out of bounds.
    case corruptObject(String)

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
        case .remoteNotFound(let name): return "no remote named '\(name)'"
        case .remoteExists(let name): return "a remote named '\(name)' exists already"
        case .invalidRemoteName(let name): return "'\(name)' is not a valid remote name"
        case .invalidBranchName(let name): return "'\(name)' is not a valid branch name"
        case .unknownHostKey(let host, let type, let fingerprint, let files):
            return "the host key of \(host) is not known (\(type) \(fingerprint)); refusing to connect. "
                + "Check the fingerprint with the server's owner, then add the key to "
                + (files.first ?? "~/.ssh/known_hosts") + " (ssh-keyscan, or connect once with ssh)"
        case .hostKeyMismatch(let host, let type, let fingerprint, let file):
            return "the host key of \(host) (\(type) \(fingerprint)) does not match the one in \(file); "
                + "refusing to connect: someone may be intercepting the connection, or the host key was changed"
        case .authenticationFailed(let url, let tried):
            return "authentication to \(url) failed" + (tried.isEmpty ? " (no credential to offer)" : " (tried \(tried.joined(separator: ", ")))")
        case .pushRejected(let ref, let reason): return "the remote rejected the update of \(ref): \(reason)"
        case .branchNotFound(let name): return "no branch named '\(name)'"
        case .destinationNotEmpty(let path): return "\(path) exists and is not an empty directory"
        case .helperFailed(let program, let reason): return "\(program) failed: \(reason)"
        case .corruptObject(let what): return "a git object is corrupt: \(what)"
        }
    }
}

extension GitError {
    /// "10 s", "0.5 s".
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
