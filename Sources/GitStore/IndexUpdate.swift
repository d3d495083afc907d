#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

/// The index, rewritten under coffer's index lock: read when the update
/// begins (under the lock, before the caller's commit point, so a
/// concurrent git's change is neither lost nor overwritten), written by
/// `commit` while the lock is still held.
///
/// libgit2's own index write takes index.lock itself (O_EXCL), so it cannot
/// write under a lock we hold. The new index is written to
/// `.git/.coffer-tmp-index`, flushed, and renamed onto `.git/index`: the
/// rename git itself makes from index.lock. Usually coffer splices the
/// changed entries into the file itself (`IndexFile`); an index it leaves
/// to libgit2 is copied to that path and opened there as a standalone
/// index, which libgit2 changes and writes. Names starting with
/// `.coffer-tmp-` are swept after a crash like any temporary file.
public final class IndexUpdate {
    private let repository: GitRepository
    private let lock: IndexLock
    private let staged: String
    /// The index as read, while coffer splices it itself (see `IndexFile`).
    private var file: IndexFile?
    /// libgit2's, for an index `IndexFile` leaves to it, or a change that does.
    private var library: Index?
    /// The index's bytes as read (for opening it in libgit2 later).
    private let original: [UInt8]?
    private var conflictsRemoved = false
    private var finished = false

    init(repository: GitRepository, lock: IndexLock) throws {
        self.repository = repository
        self.lock = lock
        staged = repository.gitDirectory + "/.coffer-tmp-index"
        IndexUpdate.removeStaged(staged)
        guard IndexUpdate.holds(lock, in: repository) else { throw GitError.indexLockLost(path: lock.path) }
        let target = repository.gitDirectory + "/index"
        original = Files.exists(target) ? try Files.read(path: target) : nil
        // Read under the lock: nothing replaces the index between the two.
        var info = stat()
        let stated = original != nil && lstat(target, &info) == 0
        let checked = stated && IndexStamp.matches(gitDirectory: repository.gitDirectory, info: info, checksum: original!.suffix(20))
        file = original.map { IndexFile($0, writtenAt: stated ? info.st_mtim : nil, checked: checked) } ?? IndexFile()
        if file == nil { library = try openInLibrary() }
    }

    deinit { if !finished { IndexUpdate.removeStaged(staged) } }

    /// The index as read, copied to the staged path and opened there by
    /// libgit2 as a standalone index (every entry with its stat data, and the
    /// cached trees, as they were), with any conflicts already dropped.
    private func openInLibrary() throws -> Index {
        do {
            if let original {
                let sink = try FileDescriptorSink(path: staged, mode: 0o644, exclusive: true)
                try original.withUnsafeBytes { try sink.write($0) }
            }
            let index = try Index(standaloneAt: staged, lib: repository.lib)
            // A standalone index lacks the repository's core.filemode,
            // core.ignorecase and core.symlinks, which decide how entries merge.
            try index.setCaps(repository.indexCapabilities())
            if conflictsRemoved { try index.removeConflicts() }
            return index
        } catch {
            IndexUpdate.removeStaged(staged)
            throw error
        }
    }

    /// True when the index holds conflict stages (an unfinished merge,
    /// cherry-pick, rebase or stash pop): writing it would lose them.
    public var hasConflicts: Bool { file?.hasConflicts ?? library!.hasConflicts }

    /// Drops the conflict stages an unfinished merge left, before `commit`
    /// puts the paths' chosen entries back (coffer takes a stock merge's
    /// conflicts over: see `Vault.adoptGitMerge`).
    public func removeConflicts() throws {
        conflictsRemoved = true
        if file != nil { file!.removeConflicts() } else { try library!.removeConflicts() }
    }

    /// What the index holds at `path`: its stage-0 blob (nil: none) and
    /// whether conflict stages are there (an unfinished merge's doing).
    public func entry(at path: String) throws -> (blob: ObjectID?, conflicted: Bool) {
        if let file { return file.entry(at: path) }
        return try library!.entry(at: path)
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
        var checksum: ArraySlice<UInt8>?
        if let file, let bytes = try spliced(file, changes) {
            let sink = try FileDescriptorSink(path: staged, mode: 0o644, exclusive: true)
            try bytes.withUnsafeBytes { try sink.write($0) }
            checksum = bytes.suffix(20)
        } else {
            let index = try library ?? openInLibrary()
            library = index
            for change in changes {
                switch change {
                case .write(let path, let blob):
                    try index.add(path: path, blob: blob, stat: repository.lstatEntry(path))
                case .delete(let path):
                    try index.remove(path: path)
                }
            }
            try index.write()
        }
        #if DEBUG
        TestCrashPoint.reach("index-written")
        #endif
        try FileSystemSync.syncFile(staged)
        #if DEBUG
        TestCrashPoint.reach("index-synced")
        #endif
        // Someone removed our lock by hand and another git may be writing:
        // replacing the index now would lose its change.
        guard IndexUpdate.holds(lock, in: repository) else { throw GitError.indexLockLost(path: lock.path) }
        let target = repository.gitDirectory + "/index"
        guard rename(staged, target) == 0 else {
            let code = errno
            throw GitError.call(function: "rename", code: code, message: "\(target): \(String(cString: strerror(code)))")
        }
        finished = true
        if let checksum { IndexStamp.write(gitDirectory: repository.gitDirectory, checksum: checksum) }
        #if DEBUG
        TestCrashPoint.reach("index-renamed")
        #endif
    }

    /// The index with `changes` spliced in, or nil when one needs libgit2's
    /// judgement: a directory/file clash, a case-insensitive repository, or
    /// a file whose mode differs from its entry's under core.filemode=false.
    private func spliced(_ file: IndexFile, _ changes: [TreeChange]) throws -> [UInt8]? {
        // In order of the changes; a later change of a path overrides an
        // earlier one. Not a dictionary: hashing `[UInt8]` keys has the
        // runtime look up conformances, half a million instructions a `set`.
        var changed: [(path: [UInt8], entry: [UInt8]?)] = []
        var capabilities: Int32?
        func caps() throws -> Int32 {
            if let capabilities { return capabilities }
            capabilities = try repository.indexCapabilities()
            return capabilities!
        }
        for change in changes {
            switch change {
            case .write(let path, let blob):
                let key = Array(path.utf8)
                guard !file.clashes(with: key) else { return nil }
                let info = try repository.lstatEntry(path)
                guard let mode = Index.mode(of: info) else {
                    throw GitError.call(function: "git_index_add", code: Int32(GIT_ERROR.rawValue), message: "\(path) is not a file")
                }
                let at = file.lowerBound(key)
                if at < file.entries.count, file.compare(file.entries[at], key) == 0,
                   file.mode(of: file.entries[at]) != mode, try caps() & Int32(GIT_INDEX_CAPABILITY_NO_FILEMODE.rawValue) != 0 {
                    return nil
                }
                changed.append((key, IndexFile.entryBytes(path: key, blob: blob, mode: mode, stat: info)))
            case .delete(let path):
                changed.append((Array(path.utf8), nil))
            }
        }
        guard try caps() & Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue) == 0 else { return nil }
        let order = changed.indices.sorted { a, b in
            IndexFile.precedes(changed[a].path, changed[b].path) || changed[a].path == changed[b].path && a < b
        }
        // Of a path's changes, the last.
        let last = order.indices.filter { $0 == order.count - 1 || changed[order[$0 + 1]].path != changed[order[$0]].path }
        return try file.spliced(last.map { changed[order[$0]] })
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
