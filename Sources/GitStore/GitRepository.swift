#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

/// A non-bare git repository: the vault's history.
///
/// What a write and the history need — refs, objects, trees, commits, a
/// few config settings — is read and written natively (`ObjectDirectory`,
/// `GitConfigFile`) for a plain repository, so `set` does not pay the
/// ~3.5 ms of loading libgit2 and its sixteen libraries. Everything else
/// (merges, transfers, revision syntax) and anything the native side does
/// not read exactly as git does is libgit2's: loaded on first need, and from
/// then on serving every call of this handle, so the two never disagree
/// about what a batch holds.
///
/// Everything it writes is an ordinary git object or ref, so the stock git
/// CLI can log, fsck, clone and push it. Objects are not fsynced one by one;
/// callers flush with `FileSystemSync` before they acknowledge a commit, and
/// batches flush their objects themselves.
/// Not thread-safe: use one instance from one thread at a time (open one per
/// thread if needed).
public final class GitRepository {
    /// libgit2 and this repository's handle in it, once loaded.
    private var loaded: (lib: LibGit2, pointer: OpaquePointer)?
    /// The native object store of a repository it can serve.
    private let directory: ObjectDirectory?
    /// The repository's own config (`.git/config`), read at a native open.
    let localConfig: GitConfigFile?

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
        loaded = (lib, pointer)
        directory = nil
        localConfig = nil
        guard let workdir = lib.repositoryWorkdir(pointer) else {
            lib.repositoryFree(pointer)
            throw GitError.call(function: "git_repository_workdir", code: Int32(GIT_ERROR.rawValue),
                                message: "repository is bare")
        }
        workTree = GitRepository.trimmingSlash(String(cString: workdir))
        gitDirectory = GitRepository.trimmingSlash(lib.repositoryPath(pointer).map { String(cString: $0) } ?? "")
    }

    private init(workTree: String, gitDirectory: String, directory: ObjectDirectory, localConfig: GitConfigFile) {
        self.workTree = workTree
        self.gitDirectory = gitDirectory
        self.directory = directory
        self.localConfig = localConfig
    }

    deinit {
        if let loaded { loaded.lib.repositoryFree(loaded.pointer) }
    }

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
    /// parent directories. Natively when it can (see the type's comment).
    public static func open(at path: String) throws -> GitRepository {
        if let native = openNatively(at: path) { return native }
        return try openInLibrary(at: path)
    }

    private static func openInLibrary(at path: String) throws -> GitRepository {
        let lib = try LibGit2.load()
        let pointer = try lib.make("git_repository_open_ext") {
            lib.repositoryOpenExt($0, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        }
        return try GitRepository(lib: lib, pointer: pointer)
    }

    /// A plain repository at `path/.git`, as libgit2 would open it: its real
    /// path, a format this reader knows (version 0, or 1 without extensions),
    /// no separate work tree, nothing `ObjectDirectory.open` refuses.
    /// `COFFER_GIT_NATIVE=0` opens every repository in libgit2 (tests
    /// compare the two; benchmarks measure the difference).
    private static func openNatively(at path: String) -> GitRepository? {
        guard getenv("COFFER_GIT_NATIVE").map({ String(cString: $0) }) != "0", let resolved = realpath(path, nil) else { return nil }
        let root = String(cString: resolved)
        free(resolved)
        let git = (root == "/" ? "" : root) + "/.git"
        var info = stat()
        guard stat(git, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, Files.exists(git + "/HEAD"), Files.exists(git + "/refs"),
              let config = try? GitConfigFile(path: git + "/config"), isPlain(config),
              let directory = ObjectDirectory.open(gitDirectory: git)
        else { return nil }
        return GitRepository(workTree: root, gitDirectory: git, directory: directory, localConfig: config)
    }

    private static func isPlain(_ config: GitConfigFile) -> Bool {
        do {
            let version = try config.string("core.repositoryformatversion").map { Int($0) ?? -1 } ?? 0
            return try config.bool("core.bare") != true && config.string("core.worktree") == nil
                && (version == 0 || version == 1) && !config.hasSection("extensions")
        } catch {
            return false
        }
    }

    /// The native object store, while libgit2 is not loaded.
    var native: ObjectDirectory? { loaded == nil ? directory : nil }

    /// libgit2, loaded on first use (see `handle`).
    var lib: LibGit2 {
        get throws { try handle().lib }
    }

    /// libgit2 and this repository's handle, loading and opening them on
    /// first use. A native batch in progress is stored first (loose, or its
    /// pack installed), so that libgit2 sees every object it wrote.
    func handle() throws -> (lib: LibGit2, pointer: OpaquePointer) {
        if let loaded { return loaded }
        let lib = try LibGit2.load()
        let pointer = try lib.make("git_repository_open_ext") {
            lib.repositoryOpenExt($0, workTree, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        }
        if let directory, directory.batch != nil {
            do {
                if let pack = try directory.endBatch() {
                    defer { GitRepository.removeDirectory(gitDirectory + "/coffer-incoming") }
                    try install(pack)
                }
            } catch {
                lib.repositoryFree(pointer)
                directory.discardBatch(failure: error)
                throw error
            }
        }
        loaded = (lib, pointer)
        return (lib, pointer)
    }

    /// Lends the `git_repository *`; valid only inside `body`.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        try body(handle().pointer)
    }

    /// Runs `body` natively when this handle can; when it cannot, or the
    /// native side declines (`NativeUnsupported`), runs `fallback` (libgit2).
    func natively<R>(_ body: (ObjectDirectory) throws -> R, else fallback: () throws -> R) throws -> R {
        if let native {
            do {
                return try body(native)
            } catch is NativeUnsupported {
                _ = try handle()
            }
        }
        return try fallback()
    }

    /// The object named `id`; throws when there is none.
    func readObject(_ id: ObjectID) throws -> RawObject {
        try natively({ native in
            guard let object = try native.read(id) else { throw GitRepository.notFound(id) }
            return object
        }, else: {
            let (lib, pointer) = try handle()
            let odb = try lib.make("git_repository_odb") { lib.repositoryODB($0, pointer) }
            defer { lib.odbFree(odb) }
            let object = try id.withOID { oid in try lib.make("git_odb_read") { lib.odbRead($0, odb, oid) } }
            defer { lib.odbObjectFree(object) }
            guard let kind = PackWriter.Kind(rawValue: UInt8(truncatingIfNeeded: lib.odbObjectType(object))) else {
                throw GitError.corruptObject("\(id.hex): of no kind git knows")
            }
            let size = lib.odbObjectSize(object)
            let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: lib.odbObjectData(object), count: size))
            return RawObject(kind: kind, bytes: bytes)
        })
    }

    /// The object named `id` when it is of `kind`, else a not-found error.
    func readObject(_ id: ObjectID, as kind: PackWriter.Kind) throws -> [UInt8] {
        let object = try readObject(id)
        guard object.kind == kind else {
            throw GitError.call(function: "git_object_lookup", code: GIT_ENOTFOUND.rawValue,
                                message: "the requested type does not match the type in the ODB (\(id.hex))")
        }
        return object.bytes
    }

    /// Stores an object (unflushed; in the running batch, if any) and returns its name.
    func writeObject(_ kind: PackWriter.Kind, _ bytes: [UInt8]) throws -> ObjectID {
        try natively({ try $0.write(kind, bytes) }, else: {
            let (lib, pointer) = try handle()
            let odb = try lib.make("git_repository_odb") { lib.repositoryODB($0, pointer) }
            defer { lib.odbFree(odb) }
            var oid = git_oid()
            let rc = bytes.withUnsafeBytes { lib.odbWrite(&oid, odb, $0.baseAddress, $0.count, Int32(kind.rawValue)) }
            try lib.check(rc, "git_odb_write")
            return ObjectID(oid)
        })
    }

    static func notFound(_ id: ObjectID) -> GitError {
        .call(function: "git_odb_read", code: GIT_ENOTFOUND.rawValue, message: "object not found - no match for id (\(id.hex))")
    }

    private static func trimmingSlash(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}
