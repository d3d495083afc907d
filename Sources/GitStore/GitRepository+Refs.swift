#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix
import Synchronization

extension GitRepository {
    /// The commit HEAD points to, or nil when its branch is unborn.
    public func head() throws -> ObjectID? {
        try target(of: "HEAD")
    }

    /// Moves the current branch (HEAD's target, created if unborn; HEAD itself
    /// when detached) from `expected` to `new` as one compare-and-swap under
    /// the ref's lock file, as git does it: take `<ref>.lock`, check the ref
    /// still holds `expected`, append the reflog entries (the branch's and
    /// HEAD's), rename the lock over the ref.
    ///
    /// Why not libgit2's `git_reference_create_matching`: it creates the
    /// lock empty and fills it only at the end, so a process killed in
    /// between leaves a lock nobody can prove is its own. This writer makes
    /// the lock appear already holding `new` (a finished temporary file
    /// hard-linked into place, which fails if the lock exists), so a lock
    /// holding exactly the journal's new id is coffer's (see recovery).
    ///
    /// A stale `expected` throws `GitError.staleHead`. Another git process
    /// holding the lock (`git gc` and `git pack-refs` take it for a moment)
    /// is waited for, up to `refLockWait` seconds, then `GitError.refLocked`.
    public func advanceHead(from expected: ObjectID?, to new: ObjectID, message: String) throws {
        let ref = try headTarget()
        let refPath = gitDirectory + "/" + ref
        let lockPath = refPath + ".lock"
        try takeRefLock(lockPath, ref: ref, content: Array((new.hex + "\n").utf8))
        var moved = false
        defer { if !moved { unlink(lockPath) } }
        guard try target(of: ref) == expected else { throw GitError.staleHead(ref: ref) }
        let entry = try reflogEntry(old: expected, new: new, message: message)
        try appendReflog(ref, entry)
        if ref != "HEAD" { try appendReflog("HEAD", entry) }
        guard rename(lockPath, refPath) == 0 else { throw GitError.systemCall("rename", path: refPath) }
        moved = true
    }

    /// The commit `ref` names (following HEAD's symbolic link), nil if it does not exist.
    func target(of ref: String) throws -> ObjectID? {
        try natively({ _ in try RefFiles(gitDirectory: gitDirectory).resolve(ref) }, else: {
            let lib = try lib
            var oid = git_oid()
            let rc = try withHandle { lib.referenceNameToID(&oid, $0, ref) }
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try lib.check(rc, "git_reference_name_to_id")
            return ObjectID(oid)
        })
    }

    /// Creates `lockPath` already holding `content`, waiting while another
    /// process holds it.
    private func takeRefLock(_ lockPath: String, ref: String, content: [UInt8]) throws {
        try Files.makeDirectories(String(lockPath[..<lockPath.lastIndex(of: "/")!]))
        let temporary = try GitRepository.writeTemporary(content, in: gitDirectory, prefix: ".coffer-tmp-ref-", mode: 0o644)
        defer { unlink(temporary) }
        let started = Monotonic.seconds()
        var pause = 0.002
        while link(temporary, lockPath) != 0 {
            guard errno == EEXIST else { throw GitError.systemCall("link", path: lockPath) }
            let waited = Monotonic.seconds() - started
            guard waited < refLockWait else {
                throw GitError.refLocked(ref: ref, lockFile: lockPath, waitedSeconds: refLockWait)
            }
            usleep(useconds_t(min(pause, refLockWait - waited) * 1_000_000))
            pause = min(pause * 2, 0.05)
        }
    }

    /// A reflog line as git writes it: `old new Name <email> time ±hhmm\tmessage`,
    /// naming the commit's author, now.
    private func reflogEntry(old: ObjectID?, new: ObjectID, message: String) throws -> [UInt8] {
        let who = try Commit(new, in: self).info.author
        let zero = String(repeating: "0", count: new.hex.count)
        let text = message.map { $0 == "\n" ? " " : $0 }
        return Array("\(old?.hex ?? zero) \(new.hex) \(who.name) <\(who.email)> \(SignatureStamp.nowAndZone())\t\(String(text))\n".utf8)
    }

    /// Appends to `logs/<ref>`, creating it as git does by default for
    /// branches and HEAD in a non-bare repository.
    private func appendReflog(_ ref: String, _ entry: [UInt8]) throws {
        let path = gitDirectory + "/logs/" + ref
        try Files.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GitError.systemCall("open", path: path) }
        defer { close(fd) }
        let written = entry.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == entry.count else {
            if written >= 0 { errno = ENOSPC }
            throw GitError.systemCall("write", path: path)
        }
    }

    /// The ref HEAD names, e.g. "refs/heads/main", or "HEAD" when detached.
    /// The branch HEAD names (`main`), nil when HEAD is detached.
    public func currentBranch() throws -> String? {
        let target = try headTarget()
        return target.hasPrefix("refs/heads/") ? String(target.dropFirst("refs/heads/".count)) : nil
    }

    private func headTarget() throws -> String {
        try natively({ _ in try RefFiles(gitDirectory: gitDirectory).symbolicTarget("HEAD") ?? "HEAD" }, else: {
            let lib = try lib
            let reference = try withHandle { repo in
                try lib.make("git_reference_lookup") { lib.referenceLookup($0, repo, "HEAD") }
            }
            defer { lib.referenceFree(reference) }
            return lib.referenceSymbolicTarget(reference).map { String(cString: $0) } ?? "HEAD"
        })
    }
}

extension GitRepository {
    /// A new file in `directory` (named `prefix`, the process id and a
    /// count) holding `content`, created with `mode` (as git creates its
    /// objects: no chmod after), unflushed; its path. Removed again if it
    /// cannot be written whole.
    static func writeTemporary(_ content: [UInt8], in directory: String, prefix: String, mode: mode_t) throws -> String {
        var fd: Int32 = -1
        var temporary = ""
        while fd < 0 {
            let count = temporaryCount.add(1, ordering: .relaxed).newValue
            temporary = directory + "/" + prefix + "\(getpid())-\(count)"
            fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            // One a dead process of the same id left: the next count.
            guard fd >= 0 || errno == EEXIST else { throw GitError.systemCall("open", path: temporary) }
        }
        let written = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let failure = errno
        close(fd)
        guard written == content.count else {
            unlink(temporary)
            errno = written < 0 ? failure : ENOSPC
            throw GitError.systemCall("write", path: temporary)
        }
        return temporary
    }

    /// Temporary files this process named (see `writeTemporary`).
    private static let temporaryCount = Atomic<Int>(0)
}

extension GitError {
    /// True when `advanceHead` failed because the branch no longer points at
    /// the expected commit (another writer got there first): reload and retry.
    public var isStaleHead: Bool {
        if case .staleHead = self { return true }
        return false
    }

    /// `function` failed on `path` with the current errno.
    static func systemCall(_ function: String, path: String) -> GitError {
        .system(function: function, errno: errno, message: "\(path): \(String(cString: strerror(errno)))")
    }
}
