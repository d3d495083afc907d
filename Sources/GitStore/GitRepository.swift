#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

/// A non-bare git repository opened through libgit2: the vault's history.
///
/// Everything it writes is an ordinary git object or ref, so the stock git
/// CLI can log, fsck, clone and push it. libgit2 does not fsync here (its
/// switch is process-wide); callers flush with `FileSystemSync` before they
/// acknowledge a commit, and batches flush their objects themselves.
/// Not thread-safe: use one instance from one thread at a time (open one per
/// thread if needed).
public final class GitRepository {
    let lib: LibGit2
    private let pointer: OpaquePointer

    /// Absolute path of the work tree root, no trailing slash.
    public let workTree: String
    /// Absolute path of the `.git` directory, no trailing slash.
    public let gitDirectory: String
    /// Holds a batch's objects in memory (see `withBatchedObjectSync`);
    /// created by the first batch.
    var batchCapture: ObjectCapture?
    /// Seconds `advanceHead` waits for a ref lock another git process holds
    /// (0: fail at once).
    public var refLockWait: Double = 0

    private init(lib: LibGit2, pointer: OpaquePointer) throws {
        self.lib = lib
        self.pointer = pointer
        guard let workdir = lib.repositoryWorkdir(pointer) else {
            lib.repositoryFree(pointer)
            throw GitError.call(function: "git_repository_workdir", code: Int32(GIT_ERROR.rawValue),
                                message: "repository is bare")
        }
        workTree = GitRepository.trimmingSlash(String(cString: workdir))
        gitDirectory = GitRepository.trimmingSlash(lib.repositoryPath(pointer).map { String(cString: $0) } ?? "")
    }

    deinit { lib.repositoryFree(pointer) }

    /// `git init` of a non-bare repository at `path`, creating the directory
    /// if needed, with HEAD on the unborn branch `git init` would choose:
    /// `init.defaultBranch` from the user's git config, else "master".
    ///
    /// Why git's choice: a vault pushed to a fresh `git init --bare` remote
    /// (whose HEAD names that same default) must clone with a checked-out
    /// branch. Leaving `initial_head` unset makes libgit2 read
    /// `init.defaultBranch` from the global, XDG and system config itself.
    public static func create(at path: String) throws -> GitRepository {
        let lib = try LibGit2.load()
        var options = git_repository_init_options()
        try lib.check(lib.repositoryInitOptionsInit(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)),
                      "git_repository_init_options_init")
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue
        let pointer = try lib.make("git_repository_init_ext") { lib.repositoryInitExt($0, path, &options) }
        return try GitRepository(lib: lib, pointer: pointer)
    }

    /// Opens the repository whose work tree root is `path`; does not search
    /// parent directories.
    public static func open(at path: String) throws -> GitRepository {
        let lib = try LibGit2.load()
        let pointer = try lib.make("git_repository_open_ext") {
            lib.repositoryOpenExt($0, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        }
        return try GitRepository(lib: lib, pointer: pointer)
    }

    /// Lends the `git_repository *`; valid only inside `body`.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(pointer)
    }

    private static func trimmingSlash(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}
