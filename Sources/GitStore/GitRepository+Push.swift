#if canImport(Glibc)
import Glibc
#endif
import CGit2

extension GitRepository {
    /// `git push <remote> refs/heads/<local>:refs/heads/<remote>`, never
    /// forced. A remote that refuses the update (not a fast-forward of its
    /// branch, a hook) throws `GitError.pushRejected`: fetch, merge, push
    /// again. After a push the remote accepted, `refs/remotes/<remote>/<branch>`
    /// holds what was pushed.
    public func push(remote name: String, localBranch: String, remoteBranch: String,
                     credentials: TransferCredentials) throws {
        let f = try RemoteFunctions.load()
        try f.validateBranchName(localBranch)
        try f.validateBranchName(remoteBranch)
        let localRef = "refs/heads/" + localBranch, remoteRef = "refs/heads/" + remoteBranch
        guard let tip = try commit(named: localRef) else { throw GitError.branchNotFound(localBranch) }
        let remote = try withHandle { try f.lookupRemote($0, name) }
        defer { f.free(remote) }
        let session = TransferSession(functions: f, credentials: credentials, url: f.url(remote).map { String(cString: $0) } ?? "")
        let lib = try lib
        try withExtendedLifetime(session) {
            var options = git_push_options()
            try lib.check(f.pushOptionsInit(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)), "git_push_options_init")
            session.callbacks(into: &options.callbacks)
            let rc = withStrArray(["\(localRef):\(remoteRef)"]) { f.push(remote, $0, &options) }
            // libgit2 refuses a non-fast-forward itself when it knows the
            // remote's tip; the remote refuses the rest through the callback.
            if session.error == nil && rc == GIT_ENONFASTFORWARD.rawValue {
                throw GitError.pushRejected(ref: remoteRef, reason: lib.lastErrorMessage() ?? "not a fast-forward")
            }
            try session.finish(rc, "git_remote_push")
            if let rejected = session.rejections.first {
                throw GitError.pushRejected(ref: rejected.ref, reason: rejected.reason)
            }
        }
        try setTrackingRef(remote: name, branch: remoteBranch, to: tip, message: "update by push")
    }

    /// Points `refs/remotes/<remote>/<branch>` at `commit` (a fetch moved
    /// it to history the caller refuses: put back, it is refused again).
    public func setTrackingRef(remote name: String, branch: String, to commit: ObjectID,
                               message: String = "coffer: refused rewritten history") throws {
        let f = try RemoteFunctions.load()
        let lib = try lib
        try commit.withOID { oid in
            var out: OpaquePointer?
            try withHandle { repo in
                try lib.check(f.referenceCreate(&out, repo, GitRepository.trackingRef(remote: name, branch: branch), oid, 1, message),
                              "git_reference_create")
            }
            lib.referenceFree(out)
        }
    }

    /// `refs/remotes/<remote>/<branch>`, where git's default refspec keeps
    /// what a fetch or push saw of the remote's branch.
    public static func trackingRef(remote: String, branch: String) -> String { "refs/remotes/\(remote)/\(branch)" }

    /// The commit `ref` holds, nil if it does not exist.
    func commit(named ref: String) throws -> ObjectID? {
        try target(of: ref)
    }
}

/// Lends `strings` as a `git_strarray` for the duration of `body`.
func withStrArray<R>(_ strings: [String], _ body: (UnsafePointer<git_strarray>) throws -> R) rethrows -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    var copy = pointers
    return try copy.withUnsafeMutableBufferPointer { buffer in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&array)
    }
}

extension LibGit2 {
    /// libgit2's message for the last failure on this thread, if any.
    func lastErrorMessage() -> String? {
        lastError().flatMap { $0.pointee.message.map { String(cString: $0) } }
    }
}
