#if canImport(Glibc)
import Glibc
#endif
import CGit2

extension GitRepository {
    /// Brings the index (staging area) in line with files the caller has just
    /// written to the work tree, so `git status` is clean: each `.write` gets
    /// an entry with the given blob id and the file's lstat data, each
    /// `.delete` loses its entry; then the index is written (atomically, via
    /// index.lock). Files are not re-hashed: the caller vouches that each
    /// file holds its blob. libgit2 itself re-checks, as git does, only the
    /// "racily clean" entries whose mtime is not older than the index file.
    ///
    /// The index stays loaded in this repository handle, so later calls skip
    /// re-reading it unless another process changed it.
    public func updateIndex(_ changes: [TreeChange]) throws {
        let index = try Index(self)
        for change in changes {
            switch change {
            case .write(let path, let blob):
                try index.add(path: path, blob: blob, stat: lstatEntry(path))
            case .delete(let path):
                try index.remove(path: path)
            }
        }
        try index.write()
    }

    /// True when the index holds conflict stages (an unfinished merge,
    /// cherry-pick, rebase or stash pop): writing it would lose them.
    public func indexHasConflicts() throws -> Bool {
        try Index(self).hasConflicts
    }

    private func lstatEntry(_ path: String) throws -> stat {
        var info = stat()
        guard lstat(workTree + "/" + path, &info) == 0 else {
            let code = errno
            throw GitError.call(function: "lstat", code: code, message: "\(path): \(String(cString: strerror(code)))")
        }
        return info
    }
}

/// The repository's index, freed (released) in deinit.
final class Index {
    private let repository: GitRepository
    private let pointer: OpaquePointer
    private var lib: LibGit2 { repository.lib }

    /// The repository's cached index, refreshed from disk if it changed.
    init(_ repository: GitRepository) throws {
        let lib = repository.lib
        self.repository = repository
        pointer = try repository.withHandle { repo in
            try lib.make("git_repository_index") { lib.repositoryIndex($0, repo) }
        }
        try lib.check(lib.indexRead(pointer, 0), "git_index_read")
    }

    deinit { lib.indexFree(pointer) }

    func add(path: String, blob: ObjectID, stat info: stat) throws {
        let format = info.st_mode & S_IFMT
        let mode: UInt32
        switch format {
        case S_IFREG: mode = info.st_mode & S_IXUSR != 0 ? GIT_FILEMODE_BLOB_EXECUTABLE.rawValue : GIT_FILEMODE_BLOB.rawValue
        case S_IFLNK: mode = GIT_FILEMODE_LINK.rawValue
        default: throw GitError.call(function: "git_index_add", code: Int32(GIT_ERROR.rawValue), message: "\(path) is not a file")
        }
        // git stores 32-bit stat fields, truncating larger values the same way.
        var entry = git_index_entry()
        entry.ctime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_ctim.tv_sec),
                                     nanoseconds: UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec))
        entry.mtime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_mtim.tv_sec),
                                     nanoseconds: UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec))
        entry.dev = UInt32(truncatingIfNeeded: info.st_dev)
        entry.ino = UInt32(truncatingIfNeeded: info.st_ino)
        entry.mode = mode
        entry.uid = info.st_uid
        entry.gid = info.st_gid
        entry.file_size = UInt32(truncatingIfNeeded: info.st_size)
        let rc = blob.withOID { oid in
            entry.id = oid.pointee
            return path.withCString { cPath in
                entry.path = cPath
                return lib.indexAdd(pointer, &entry)
            }
        }
        try lib.check(rc, "git_index_add")
    }

    /// Removes the stage-0 entry for `path`; absent is fine.
    func remove(path: String) throws {
        let rc = lib.indexRemove(pointer, path, 0)
        if rc == GIT_ENOTFOUND.rawValue { return }
        try lib.check(rc, "git_index_remove")
    }

    var hasConflicts: Bool { lib.indexHasConflicts(pointer) != 0 }

    func write() throws {
        try lib.check(lib.indexWrite(pointer), "git_index_write")
    }
}
