#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

extension GitRepository {
    /// The commit HEAD points to, or nil when its branch is unborn.
    public func head() throws -> ObjectID? {
        var oid = git_oid()
        let rc = withHandle { lib.referenceNameToID(&oid, $0, "HEAD") }
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_reference_name_to_id")
        return ObjectID(oid)
    }

    /// Moves the current branch (HEAD's target, created if unborn; HEAD itself
    /// when detached) from `expected` to `new` as one compare-and-swap under
    /// the ref's lock file, so concurrent writers never lose an update.
    ///
    /// A stale `expected` throws `GitError.call` from
    /// "git_reference_create_matching" with code GIT_EMODIFIED (-15) when the
    /// branch points elsewhere, GIT_EEXISTS (-4) when `expected` is nil but
    /// the branch exists, or GIT_ENOTFOUND (-3) when `expected` is set but the
    /// branch is unborn; `GitError.isStaleHead` tests for all three.
    ///
    /// Another git process holding the ref's lock file (`git gc` and
    /// `git pack-refs` take it for a moment; libgit2 gives GIT_ELOCKED) is
    /// waited for, up to `refLockWait` seconds, then `GitError.refLocked`.
    public func advanceHead(from expected: ObjectID?, to new: ObjectID, message: String) throws {
        let branch = try headTarget()
        let started = Monotonic.seconds()
        var pause = 0.002
        while true {
            let rc: Int32 = withHandle { repo in
                new.withOID { newID in
                    expected.withOID { expectedID in
                        var out: OpaquePointer?
                        let rc = lib.referenceCreateMatching(&out, repo, branch, newID, expected == nil ? 0 : 1, expectedID, message)
                        lib.referenceFree(out)
                        return rc
                    }
                }
            }
            guard rc == GIT_ELOCKED.rawValue else { return try lib.check(rc, "git_reference_create_matching") }
            let waited = Monotonic.seconds() - started
            guard waited < refLockWait else {
                throw GitError.refLocked(ref: branch, lockFile: gitDirectory + "/" + branch + ".lock", waitedSeconds: refLockWait)
            }
            usleep(useconds_t(min(pause, refLockWait - waited) * 1_000_000))
            pause = min(pause * 2, 0.05)
        }
    }

    /// The ref HEAD names, e.g. "refs/heads/main", or "HEAD" when detached.
    private func headTarget() throws -> String {
        let reference = try withHandle { repo in
            try lib.make("git_reference_lookup") { lib.referenceLookup($0, repo, "HEAD") }
        }
        defer { lib.referenceFree(reference) }
        return lib.referenceSymbolicTarget(reference).map { String(cString: $0) } ?? "HEAD"
    }
}

extension GitError {
    /// True when `advanceHead` failed because the branch no longer points at
    /// the expected commit (another writer got there first): reload and retry.
    public var isStaleHead: Bool {
        guard case .call("git_reference_create_matching", let code, _) = self else { return false }
        return code == GIT_EMODIFIED.rawValue || code == GIT_EEXISTS.rawValue || code == GIT_ENOTFOUND.rawValue
    }
}
