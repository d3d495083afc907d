#if canImport(Glibc)
import Glibc
#endif
import Posix

/// The index, rewritten under coffer's index lock: read when the update
/// begins (under the lock, before the caller's commit point, so a
/// concurrent git's change is neither lost nor overwritten), written by
/// `commit` while the lock is still held.
///
/// libgit2's own index write takes index.lock itself (O_EXCL), so it cannot
/// write under a lock we hold; rather than a second index writer, the index
/// is copied to `.git/.coffer-tmp-index` and opened there as a standalone
/// index (every entry with its stat data, and the cached trees, as they
/// were), changed, written by libgit2 — which locks and checksums that path,
/// so SHA-1 stays in the library (SPEC §3) — flushed, and renamed onto
/// `.git/index`: the rename git itself makes from index.lock. Names starting
/// with `.coffer-tmp-` are swept after a crash like any temporary file.
public final class IndexUpdate {
    private let repository: GitRepository
    private let lock: IndexLock
    private let index: Index
    private let staged: String
    private var finished = false

    init(repository: GitRepository, lock: IndexLock) throws {
        self.repository = repository
        self.lock = lock
        staged = repository.gitDirectory + "/.coffer-tmp-index"
        IndexUpdate.removeStaged(staged)
        guard IndexUpdate.holds(lock, in: repository) else { throw GitError.indexLockLost(path: lock.path) }
        do {
            let target = repository.gitDirectory + "/index"
            if Files.exists(target) {
                let sink = try FileDescriptorSink(path: staged, mode: 0o644, exclusive: true)
                try Files.read(path: target).withUnsafeBytes { try sink.write($0) }
            }
            index = try Index(standaloneAt: staged, lib: repository.lib)
            // A standalone index lacks the repository's core.filemode,
            // core.ignorecase and core.symlinks, which decide how entries merge.
            try index.setCaps(repository.indexCapabilities())
        } catch {
            IndexUpdate.removeStaged(staged)
            throw error
        }
    }

    deinit { if !finished { IndexUpdate.removeStaged(staged) } }

    /// True when the index holds conflict stages (an unfinished merge,
    /// cherry-pick, rebase or stash pop): writing it would lose them.
    public var hasConflicts: Bool { index.hasConflicts }

    /// Drops the conflict stages an unfinished merge left, before `commit`
    /// puts the paths' chosen entries back (coffer takes a stock merge's
    /// conflicts over: see `Vault.adoptGitMerge`).
    public func removeConflicts() throws {
        try index.removeConflicts()
    }

    /// What the index holds at `path`: its stage-0 blob (nil: none) and
    /// whether conflict stages are there (an unfinished merge's doing).
    public func entry(at path: String) throws -> (blob: ObjectID?, conflicted: Bool) {
        try index.entry(at: path)
    }

    /// Brings the index in line with files the caller has just written to
    /// the work tree, so `git status` is clean: each `.write` gets an entry
    /// with the given blob id and the file's lstat data, each `.delete`
    /// loses its entry; every other entry keeps its stat data, so git
    /// re-hashes nothing. Files are not re-hashed here either: the caller
    /// vouches that each file holds its blob. The entries written are as new
    /// as the index file ("racily clean"), so git compares their content
    /// once, as after its own `git add`. Call once.
    public func commit(_ changes: [TreeChange]) throws {
        precondition(!finished, "an index update is committed once")
        guard !hasConflicts else { throw GitError.indexHasConflicts }
        for change in changes {
            switch change {
            case .write(let path, let blob):
                try index.add(path: path, blob: blob, stat: repository.lstatEntry(path))
            case .delete(let path):
                try index.remove(path: path)
            }
        }
        try index.write()
        try FileSystemSync.syncFile(staged)
        // Someone removed our lock by hand and another git may be writing:
        // replacing the index now would lose its change.
        guard IndexUpdate.holds(lock, in: repository) else { throw GitError.indexLockLost(path: lock.path) }
        let target = repository.gitDirectory + "/index"
        guard rename(staged, target) == 0 else {
            let code = errno
            throw GitError.call(function: "rename", code: code, message: "\(target): \(String(cString: strerror(code)))")
        }
        finished = true
    }

    /// True when `lock` is held and is the repository's index.lock: looked
    /// up by the repository's own path, which libgit2 resolved (the caller's
    /// may name the same directory through a symlink), proved by its token.
    private static func holds(_ lock: IndexLock, in repository: GitRepository) -> Bool {
        lock.isHeld && IndexLock.isHeld(gitDirectory: repository.gitDirectory, token: lock.token)
    }

    private static func removeStaged(_ staged: String) {
        unlink(staged)
        unlink(staged + ".lock")
    }
}
