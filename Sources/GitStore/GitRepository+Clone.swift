#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

extension GitRepository {
    /// `git clone url path`: a non-bare repository with the remote as
    /// `origin`, its branches fetched, one branch checked out and tracking
    /// the remote's branch of the same name.
    ///
    /// The branch is the one the remote's HEAD names when it exists there;
    /// else the remote's only branch, else `main`, else `master`, else the
    /// first by name. (A fresh `git init --bare` names `master` in HEAD while
    /// a vault pushed `main`; git itself would then check out nothing.)
    /// An empty remote gives an empty clone on the unborn branch `git init`
    /// would choose, tracking the same name on the remote, so the first push
    /// creates it.
    ///
    /// `path` must not exist or be an empty directory. On failure, what the
    /// clone created is removed; so it is when `check` (run on the finished
    /// clone) throws, e.g. because the remote holds something else.
    public static func clone(url: String, into path: String, credentials: TransferCredentials,
                             remoteName: String = "origin",
                             check: (GitRepository) throws -> Void = { _ in }) throws -> GitRepository {
        let existed = try requireEmptyDirectory(path)
        do {
            let repo = try GitRepository.create(at: path)
            try repo.addRemote(name: remoteName, url: url)
            let fetched = try repo.fetch(remote: remoteName, credentials: credentials)
            let branch: String
            if let chosen = checkoutChoice(fetched), let tip = fetched.branches[chosen] {
                try repo.checkOut(tip, as: chosen, from: url)
                branch = chosen
            } else {
                branch = try repo.unbornBranch()
            }
            try repo.setUpstream(branch: branch, remote: remoteName, remoteBranch: branch)
            try check(repo)
            return repo
        } catch {
            removeContents(of: path, andItself: !existed)
            throw error
        }
    }

    /// The branch a clone checks out, nil for an empty remote.
    static func checkoutChoice(_ fetched: FetchResult) -> String? {
        let names = fetched.branches.keys
        if let head = fetched.defaultBranch, fetched.branches[head] != nil { return head }
        if names.count == 1 { return names.first }
        for preferred in ["main", "master"] where fetched.branches[preferred] != nil { return preferred }
        return names.sorted().first
    }

    /// Writes `tip`'s tree into the empty work tree and index (HEAD still
    /// unborn, so every file is new and nothing is overwritten), then points
    /// the new branch at it and HEAD at the branch.
    private func checkOut(_ tip: ObjectID, as branch: String, from url: String) throws {
        let lib = try lib
        let f = try RemoteFunctions.load()
        let commit = try withHandle { repo in try tip.withOID { oid in try lib.make("git_commit_lookup") { lib.commitLookup($0, repo, oid) } } }
        defer { lib.commitFree(commit) }
        var options = git_checkout_options()
        try lib.check(f.checkoutOptionsInit(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "git_checkout_options_init")
        options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        try withHandle { repo in try lib.check(f.checkoutTree(repo, commit, &options), "git_checkout_tree") }
        let message = "clone: from \(RemoteURL(url).redacted)"
        try withHandle { repo in
            var out: OpaquePointer?
            try tip.withOID { oid in try lib.check(f.referenceCreate(&out, repo, "refs/heads/" + branch, oid, 0, message), "git_reference_create") }
            lib.referenceFree(out)
            try lib.check(f.referenceSymbolicCreate(&out, repo, "HEAD", "refs/heads/" + branch, 1, message), "git_reference_symbolic_create")
            lib.referenceFree(out)
        }
    }

    /// The branch name of an unborn HEAD.
    private func unbornBranch() throws -> String {
        let lib = try lib
        let reference = try withHandle { repo in try lib.make("git_reference_lookup") { lib.referenceLookup($0, repo, "HEAD") } }
        defer { lib.referenceFree(reference) }
        let target = lib.referenceSymbolicTarget(reference).map { String(cString: $0) } ?? "refs/heads/master"
        return target.hasPrefix("refs/heads/") ? String(target.dropFirst("refs/heads/".count)) : target
    }

    /// Throws unless `path` is absent or an empty directory; true when it exists.
    private static func requireEmptyDirectory(_ path: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw GitError.systemCall("lstat", path: path) }
            return false
        }
        guard info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { throw GitError.destinationNotEmpty(path: path) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { throw GitError.destinationNotEmpty(path: path) }
        }
        return true
    }

    /// Removes everything under `path` (never following a symbolic link),
    /// and `path` itself when asked.
    private static func removeContents(of path: String, andItself: Bool) {
        // The names in an open directory, without `.` and `..`.
        func names(_ dir: OpaquePointer) -> [String] {
            var names: [String] = []
            while let entry = readdir(dir) {
                let child = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if child != "." && child != ".." { names.append(child) }
            }
            return names
        }
        func removeAll(in dir: OpaquePointer) {
            for child in names(dir) { remove(dirfd(dir), child) }
            closedir(dir)
        }
        func remove(_ parent: Int32, _ name: String) {
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            if info.st_mode & S_IFMT == S_IFDIR {
                let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0, let dir = fdopendir(fd) { removeAll(in: dir) }
                unlinkat(parent, name, AT_REMOVEDIR)
            } else {
                unlinkat(parent, name, 0)
            }
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else { return }
        removeAll(in: dir)
        if andItself { rmdir(path) }
    }
}
