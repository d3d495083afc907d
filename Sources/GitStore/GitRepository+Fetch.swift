import CGit2

extension GitRepository {
    /// `git fetch <remote>`: every branch of the remote into
    /// `refs/remotes/<remote>/*` (the remote's configured refspec, git's
    /// default), and what the remote's HEAD names. An empty remote is a
    /// normal result, with no branches.
    ///
    /// ssh host keys are checked against `credentials.knownHostsFiles` and
    /// refused when unknown or changed (`GitError.unknownHostKey`,
    /// `.hostKeyMismatch`) before anything is sent or fetched.
    ///
    /// Timeouts are the system's: libgit2 1.5 has no connect or transfer
    /// timeout (its GIT_OPT_SET_SERVER_*TIMEOUT options arrived in 1.7), and
    /// a stream of our own with one would break its ssh transport, which
    /// reads libgit2's socket struct directly. A refused connection fails at
    /// once; an unreachable host when the kernel gives up on the connect
    /// (about two minutes on Linux); a server that stalls mid-transfer is not
    /// cut off.
    ///
    /// `willUpdate` is told, once the remote has answered and before any ref
    /// is written, which tracking refs the fetch will set and to what
    /// (`refs/remotes/<remote>/<branch>`, git's default refspec): a caller
    /// that records it can prove afterwards that a lock file a kill left on
    /// one of them is its own. FETCH_HEAD is not written.
    public func fetch(remote name: String, credentials: TransferCredentials,
                      willUpdate: ([String: ObjectID]) throws -> Void = { _ in }) throws -> FetchResult {
        let f = try RemoteFunctions.load()
        let remote = try withHandle { try f.lookupRemote($0, name) }
        defer { f.free(remote) }
        let session = TransferSession(functions: f, credentials: credentials, url: f.url(remote).map { String(cString: $0) } ?? "")
        return try withExtendedLifetime(session) {
            var options = git_fetch_options()
            try lib.check(f.fetchOptionsInit(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "git_fetch_options_init")
            session.callbacks(into: &options.callbacks)
            options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
            options.update_fetchhead = 0
            // Connecting first lets us read the advertisement (HEAD's symref);
            // git_remote_fetch then reuses the connection.
            try session.finish(f.connect(remote, GIT_DIRECTION_FETCH, &options.callbacks, nil, nil), "git_remote_connect")
            defer { _ = f.disconnect(remote) }
            let advertised = try f.advertisedBranches(remote)
            let head = try f.advertisedHead(remote)
            try willUpdate(Dictionary(uniqueKeysWithValues: advertised.map { (GitRepository.trackingRef(remote: name, branch: $0.key), $0.value) }))
            try session.finish(f.fetch(remote, nil, &options, "fetch: \(name)"), "git_remote_fetch")
            return FetchResult(remote: name, defaultBranch: head.flatMap { advertised[$0] == nil ? nil : $0 },
                               branches: advertised)
        }
    }
}

extension RemoteFunctions {
    /// The branches a connected remote advertises, by short name.
    func advertisedBranches(_ remote: Handle) throws -> [String: ObjectID] {
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try lib.check(ls(&heads, &count, remote), "git_remote_ls")
        var branches: [String: ObjectID] = [:]
        for index in 0..<count {
            guard let head = heads?[index]?.pointee, let cName = head.name else { continue }
            let name = String(cString: cName)
            if name.hasPrefix("refs/heads/") { branches[String(name.dropFirst("refs/heads/".count))] = ObjectID(head.oid) }
        }
        return branches
    }

    /// The branch (short name) the connected remote's HEAD names, if it
    /// advertises one.
    func advertisedHead(_ remote: Handle) throws -> String? {
        var buffer = git_buf()
        defer { lib.bufDispose(&buffer) }
        let rc = defaultBranch(&buffer, remote)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_remote_default_branch")
        guard let pointer = buffer.ptr else { return nil }
        let ref = String(cString: pointer)
        return ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : nil
    }
}
