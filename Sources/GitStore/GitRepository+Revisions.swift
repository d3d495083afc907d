import CGit2

extension GitRepository {
    /// The commit a revision names — a full or abbreviated id, `HEAD~3`, a
    /// branch or tag — or nil if it names none. Parsed by libgit2 as git would.
    public func resolve(_ revision: String) throws -> ObjectID? {
        // A full id of a commit is itself; anything else is libgit2's syntax.
        if native != nil, let id = ObjectID(hex: revision), let object = try native?.read(id), object.kind == .commit {
            return id
        }
        let lib = try lib
        var object: OpaquePointer?
        let rc = try withHandle { lib.revparseSingle(&object, $0, revision) }
        defer { lib.objectFree(object) }
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EAMBIGUOUS.rawValue || rc == GIT_EINVALIDSPEC.rawValue { return nil }
        try lib.check(rc, "git_revparse_single")
        var commit: OpaquePointer?
        let peeled = lib.objectPeel(&commit, object, GIT_OBJECT_COMMIT.rawValue)
        defer { lib.objectFree(commit) }
        if peeled < 0 { return nil }
        return lib.objectID(commit).map { ObjectID($0.pointee) }
    }
}
