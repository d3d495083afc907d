import Age
import GitStore
import Posix

extension Vault {
    /// Fetches `remote` (nil: the branch's upstream, else the only remote,
    /// else `origin`), brings its branch in (see `integrate`), and pushes
    /// the result. A push the remote rejects because it moved on meanwhile
    /// is fetched and merged again, a few times. Conflicts stop before the
    /// push: nothing is sent until `resolve` settles them.
    public func sync(remote: String?, credentials: TransferCredentials, identities: [Identity]) throws -> SyncReport {
        let repo = try repo()
        guard let branch = try repo.currentBranch() else { throw VaultError.detachedHead }
        let upstream = try repo.upstream(of: branch)
        let name = try remote ?? upstream?.remote ?? defaultRemote(repo)
        let remoteBranch = upstream?.remote == name ? upstream!.branch : branch
        try refuseMissingLocalRemote(repo, name)
        let transferLock = try TransferRecord.lock(gitDirectory: gitDirectory, timeout: configuration.lockTimeout)
        try TransferRecord.recover(gitDirectory: gitDirectory)
        // Returning or throwing, libgit2 has dropped its locks: only a kill leaves the record.
        defer { withExtendedLifetime(transferLock) { TransferRecord.remove(gitDirectory: gitDirectory) } }
        let tracking = GitRepository.trackingRef(remote: name, branch: remoteBranch)
        var report = SyncReport(remote: name, branch: remoteBranch)
        var rejected: (error: Error, theirs: ObjectID?)?
        for attempt in 0..<SyncReport.attempts {
            report.retries = attempt
            let before = try? repo.resolve(tracking)
            let fetched = try repo.fetch(remote: name, credentials: credentials) {
                try TransferRecord.write($0, gitDirectory: gitDirectory)
            }
            let theirs = fetched.branches[remoteBranch]
            // A force-push replaced history this clone had fetched: merging
            // it would bring back or keep what someone chose to take out.
            // A person decides (git's tracking ref already moved; HEAD did not).
            if let before, let theirs, try before != theirs && !repo.isAncestor(before, of: theirs) {
                try TransferRecord.write([tracking: before], gitDirectory: gitDirectory)
                try repo.setTrackingRef(remote: name, branch: remoteBranch, to: before)
                throw VaultError.remoteRewritten(remote: "\(name)/\(remoteBranch)", had: before.hex, now: theirs.hex)
            }
            // Refused although the remote did not move (a hook, a protected
            // branch): trying again would be refused again.
            if let rejected, rejected.theirs == theirs { throw rejected.error }
            if let theirs {
                report.integration = try integrate(theirs, source: "\(name)/\(remoteBranch)", identities: identities)
                if report.integration.kind == .conflicts { return report }
            }
            guard let head = try repo.head(), head != theirs else { break }
            do {
                var writing = [tracking: head]
                if let remoteGit = try localRemoteGitDirectory(repo, name) { writing[remoteGit + "/refs/heads/" + remoteBranch] = head }
                try TransferRecord.write(writing, gitDirectory: gitDirectory)
                try repo.push(remote: name, localBranch: branch, remoteBranch: remoteBranch, credentials: credentials)
            } catch let error as GitError where attempt + 1 < SyncReport.attempts {
                guard case .pushRejected = error else { throw error }
                rejected = (error, theirs)
                continue
            }
            let sent = try repo.changedFiles(named: nil, from: theirs.map { try repo.node($0).tree }, to: repo.node(head).tree).map(\.path)
            report.outgoing = sent.compactMap(SecretID.init(relativePath:)).sorted()
            report.outgoingFiles = sent.filter { SecretID(relativePath: $0) == nil }.sorted()
            report.pushed = head.hex
            break
        }
        if upstream == nil, try repo.upstream(of: branch) == nil {
            try repo.setUpstream(branch: branch, remote: name, remoteBranch: remoteBranch)
            report.upstreamSet = true
        }
        return report
    }

    /// A remote that is a path on this machine and is not there: libgit2
    /// would call it an unsupported protocol.
    private func refuseMissingLocalRemote(_ repo: GitRepository, _ name: String) throws {
        guard let url = try repo.remotes().first(where: { $0.name == name })?.url,
              let path = Vault.missingLocalPath(url, relativeTo: root) else { return }
        throw VaultError.remoteMissing(remote: name, path: path)
    }

    /// The path `url` names on this machine (a path or `file://`) when
    /// nothing is there; nil for any other URL, or a path that exists. A
    /// relative path is looked up from `base`, or not at all without one.
    static func missingLocalPath(_ url: String, relativeTo base: String?) -> String? {
        let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
        if path.hasPrefix("/") { return Files.exists(path) ? nil : path }
        guard path.hasPrefix("."), let base else { return nil }
        return Files.exists(base + "/" + path) ? nil : path
    }

    /// The git directory of remote `name` when it is a repository on this
    /// machine (a path or `file://`): libgit2 pushes to it from this
    /// process, taking the lock of its branch itself.
    private func localRemoteGitDirectory(_ repo: GitRepository, _ name: String) throws -> String? {
        guard let url = try repo.remotes().first(where: { $0.name == name })?.url else { return nil }
        var path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
        if !path.hasPrefix("/") {
            guard path.hasPrefix(".") else { return nil }
            path = root + "/" + path
        }
        if Files.exists(path + "/.git/HEAD") { return path + "/.git" }
        return Files.exists(path + "/HEAD") ? path : nil
    }

    private func defaultRemote(_ repo: GitRepository) throws -> String {
        let remotes = try repo.remotes()
        if remotes.count == 1 { return remotes[0].name }
        if remotes.contains(where: { $0.name == "origin" }) { return "origin" }
        throw VaultError.noRemote(known: remotes.map(\.name))
    }
}
