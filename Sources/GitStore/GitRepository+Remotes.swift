import CGit2

extension GitRepository {
    /// The configured remotes, in the order `git remote` lists them.
    public func remotes() throws -> [Remote] {
        let f = try RemoteFunctions.load()
        var names = git_strarray()
        try withHandle { repo in try lib.check(f.list(&names, repo), "git_remote_list") }
        return try f.strings(&names).map { name in
            let remote = try withHandle { try f.lookupRemote($0, name) }
            defer { f.free(remote) }
            return Remote(name: name, url: f.url(remote).map { String(cString: $0) } ?? "")
        }
    }

    /// `git remote add name url`: the remote with git's default fetch
    /// refspec, `+refs/heads/*:refs/remotes/<name>/*`.
    public func addRemote(name: String, url: String) throws {
        let f = try RemoteFunctions.load()
        try validateRemoteName(name, f)
        var out: OpaquePointer?
        let rc = try withHandle { f.create(&out, $0, name, url) }
        if rc == GIT_EEXISTS.rawValue { throw GitError.remoteExists(name) }
        try lib.check(rc, "git_remote_create")
        f.free(out)
    }

    /// `git remote remove name`: its config, its remote-tracking branches
    /// and the upstream settings of branches that named it.
    public func removeRemote(name: String) throws {
        let f = try RemoteFunctions.load()
        try validateRemoteName(name, f)
        let rc = try withHandle { f.delete($0, name) }
        if rc == GIT_ENOTFOUND.rawValue { throw GitError.remoteNotFound(name) }
        try lib.check(rc, "git_remote_delete")
    }

    /// Sets where `branch` is pushed and merged from (`branch.<b>.remote`,
    /// `branch.<b>.merge`), as `git branch --set-upstream-to` does. The
    /// branch may be unborn (a fresh clone of an empty remote).
    public func setUpstream(branch: String, remote: String, remoteBranch: String) throws {
        let f = try RemoteFunctions.load()
        try f.validateBranchName(branch)
        try f.validateBranchName(remoteBranch)
        try validateRemoteName(remote, f)
        try setConfig("branch.\(branch).remote", remote)
        try setConfig("branch.\(branch).merge", "refs/heads/" + remoteBranch)
    }

    /// The upstream of `branch`, nil when it has none (or one that is not a
    /// remote's branch, such as a local branch's `.`).
    public func upstream(of branch: String) throws -> Upstream? {
        try withConfigSnapshot { string in
            guard let remote = try string("branch.\(branch).remote"), remote != ".",
                  let merge = try string("branch.\(branch).merge"), merge.hasPrefix("refs/heads/") else { return nil }
            return Upstream(remote: remote, branch: String(merge.dropFirst("refs/heads/".count)))
        }
    }

    private func validateRemoteName(_ name: String, _ f: RemoteFunctions) throws {
        var valid: Int32 = 0
        try lib.check(f.nameIsValid(&valid, name), "git_remote_name_is_valid")
        guard valid == 1 else { throw GitError.invalidRemoteName(name) }
    }
}
