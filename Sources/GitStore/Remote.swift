/// A configured remote: its name and the URL fetches and pushes use.
public struct Remote: Equatable, Sendable {
    public let name: String
    public let url: String

    /// The URL without any password written into it: what may be shown.
    public var shownURL: String { RemoteURL(url).redacted }

    /// True when the URL carries a password (`https://user:pw@host/…`).
    public var hasPassword: Bool { shownURL != url }

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// Where a local branch is pushed to and merged from (`branch.<b>.remote`
/// and `branch.<b>.merge`), as `git push` / `git pull` read them.
public struct Upstream: Equatable, Sendable {
    /// The remote's name ("origin").
    public let remote: String
    /// The branch on the remote, short name ("main").
    public let branch: String

    public init(remote: String, branch: String) {
        self.remote = remote
        self.branch = branch
    }

    /// The remote-tracking ref a fetch updates: `refs/remotes/<remote>/<branch>`.
    public var trackingRef: String { "refs/remotes/\(remote)/\(branch)" }
}

/// What one fetch found on the remote.
public struct FetchResult: Equatable, Sendable {
    /// The remote fetched from.
    public let remote: String
    /// The branch the remote's HEAD names, short ("main"), when it advertises
    /// one that exists; nil for an empty remote or a HEAD naming a missing branch.
    public let defaultBranch: String?
    /// Every branch of the remote (short names) and its tip, now also in
    /// `refs/remotes/<remote>/<branch>`. Empty for an empty remote.
    public let branches: [String: ObjectID]

    public init(remote: String, defaultBranch: String?, branches: [String: ObjectID]) {
        self.remote = remote
        self.defaultBranch = defaultBranch
        self.branches = branches
    }

    /// True when the remote holds no branch (a fresh `git init --bare`).
    public var isEmpty: Bool { branches.isEmpty }
}
