#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

extension GitRepository {
    /// Starts rewriting the index under `lock`, which the caller took before
    /// reading anything the new index depends on (see `IndexUpdate`).
    public func beginIndexUpdate(holding lock: IndexLock) throws -> IndexUpdate {
        try IndexUpdate(repository: self, lock: lock)
    }

    /// Brings the index in line with files the caller has just written to
    /// the work tree (see `IndexUpdate.commit`), under `lock`.
    public func updateIndex(_ changes: [TreeChange], holding lock: IndexLock) throws {
        try beginIndexUpdate(holding: lock).commit(changes)
    }

    /// The index capabilities git's config gives this repository
    /// (core.ignorecase, core.filemode, core.symlinks, with libgit2's
    /// defaults), for an index file opened on its own.
    func indexCapabilities() throws -> Int32 {
        if native != nil, let localConfig, let stack = try? GitConfigStack(gitDirectory: gitDirectory, local: localConfig) {
            do {
                var caps: Int32 = 0
                if try stack.bool("core.ignorecase") ?? false { caps |= Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue) }
                if try !(stack.bool("core.filemode") ?? true) { caps |= Int32(GIT_INDEX_CAPABILITY_NO_FILEMODE.rawValue) }
                if try !(stack.bool("core.symlinks") ?? true) { caps |= Int32(GIT_INDEX_CAPABILITY_NO_SYMLINKS.rawValue) }
                return caps
            } catch is NativeUnsupported {}
        }
        let lib = try lib
        let config = try withHandle { repo in
            try lib.make("git_repository_config_snapshot") { lib.repositoryConfigSnapshot($0, repo) }
        }
        defer { lib.configFree(config) }
        func flag(_ name: String, default value: Bool) throws -> Bool {
            var out: Int32 = 0
            let rc = lib.configGetBool(&out, config, name)
            if rc == GIT_ENOTFOUND.rawValue { return value }
            try lib.check(rc, "git_config_get_bool")
            return out != 0
        }
        var caps: Int32 = 0
        if try flag("core.ignorecase", default: false) { caps |= Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue) }
        if try !flag("core.filemode", default: true) { caps |= Int32(GIT_INDEX_CAPABILITY_NO_FILEMODE.rawValue) }
        if try !flag("core.symlinks", default: true) { caps |= Int32(GIT_INDEX_CAPABILITY_NO_SYMLINKS.rawValue) }
        return caps
    }

    func lstatEntry(_ path: String) throws -> stat {
        var info = stat()
        guard lstat(workTree + "/" + path, &info) == 0 else {
            let code = errno
            throw GitError.call(function: "lstat", code: code, message: "\(path): \(String(cString: strerror(code)))")
        }
        return info
    }
}

/// An index file opened on its own (not the repository's cached index),
/// freed in deinit.
final class Index {
    private let pointer: OpaquePointer
    private let lib: LibGit2

    /// The index file at `path`, read now (empty if there is none); writing
    /// it writes that path.
    init(standaloneAt path: String, lib: LibGit2) throws {
        self.lib = lib
        pointer = try lib.make("git_index_open") { lib.indexOpen($0, path) }
    }

    deinit { lib.indexFree(pointer) }

    /// The mode git records for a file with this `lstat` data; nil for
    /// anything but a regular file or a symlink.
    static func mode(of info: stat) -> UInt32? {
        switch info.st_mode & S_IFMT {
        case S_IFREG: return info.st_mode & S_IXUSR != 0 ? GIT_FILEMODE_BLOB_EXECUTABLE.rawValue : GIT_FILEMODE_BLOB.rawValue
        case S_IFLNK: return GIT_FILEMODE_LINK.rawValue
        default: return nil
        }
    }

    func add(path: String, blob: ObjectID, stat info: stat) throws {
        guard let mode = Index.mode(of: info) else {
            throw GitError.call(function: "git_index_add", code: Int32(GIT_ERROR.rawValue), message: "\(path) is not a file")
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

    /// Drops every conflict stage (a merge git left unfinished).
    func removeConflicts() throws {
        try lib.check(try MergeFunctions.load().conflictCleanup(pointer), "git_index_conflict_cleanup")
    }

    /// The blob of `path`'s stage-0 entry (nil: none), and whether conflict stages are there.
    func entry(at path: String) throws -> (blob: ObjectID?, conflicted: Bool) {
        let merge = try MergeFunctions.load()
        let blob = merge.entryByPath(pointer, path, 0).map { ObjectID($0.pointee.id) }
        return (blob, (1...3).contains { merge.entryByPath(pointer, path, $0) != nil })
    }

    func setCaps(_ caps: Int32) throws {
        try lib.check(lib.indexSetCaps(pointer, caps), "git_index_set_caps")
    }

    func write() throws {
        try lib.check(lib.indexWrite(pointer), "git_index_write")
    }
}
