import CGit2

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
    /// branch is unborn; `GitError.isStaleHead` tests for all three. A
    /// concurrent writer holding the ref's lock gives GIT_ELOCKED (-14).
    public func advanceHead(from expected: ObjectID?, to new: ObjectID, message: String) throws {
        let branch = try headTarget()
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
        try lib.check(rc, "git_reference_create_matching")
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
