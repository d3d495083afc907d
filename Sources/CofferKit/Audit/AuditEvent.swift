/// One thing a user did with a vault, as the audit log records it: what,
/// which ids, where and when — never a value, a key or a passphrase, since
/// none of its fields can hold one (ids, a commit id, coffer's own words).
public struct AuditEvent: Sendable, Equatable {
    /// A value was shown or handed to something outside coffer.
    public enum Reveal: String, Sendable, CaseIterable {
        /// `get --reveal` (and `get -o json --reveal`).
        case get
        /// `get --copy`: the value went to the clipboard.
        case copy
        /// `list --show-values`.
        case list
        /// `generate --reveal`: the new value, printed after its commit.
        case generate
        /// `exec`: values went into a program's environment or files.
        case exec
        /// `render`: values went into a rendered file or standard output.
        case render
        /// `export --format dotenv|json|yaml --reveal`: a plaintext file.
        case export
        /// `diff --reveal`: old and new values side by side.
        case diff
        /// A value shown by `coffer ui`.
        case ui
        /// A value `coffer serve` answered with, to a token with the reveal
        /// right or through a one-time reveal link (the user names the token).
        case serve
    }

    /// `reveal:NAME` for reveals; a commit's `Coffer-Action` (set, rm, mv,
    /// rollback, restore, rewrap, rekey, rotate, import…) for changes.
    public var action: String
    public var ids: [String]
    /// The commit a change made, or the one a reveal read at (nil when unknown).
    public var commit: String?
    /// The vault's root.
    public var vault: String
    /// Who (the login name the front end passed, else "unknown").
    public var user: String
    /// Seconds since 1970, UTC.
    public var time: Int

    public init(action: String, ids: [String], commit: String?, vault: String, user: String, time: Int) {
        self.action = action
        self.ids = ids
        self.commit = commit
        self.vault = vault
        self.user = user
        self.time = time
    }

    /// The action recorded for a reveal.
    public static func action(_ reveal: Reveal) -> String { "reveal:" + reveal.rawValue }

    /// True for reveals (values shown), false for changes (commits).
    public var isReveal: Bool { action.hasPrefix("reveal:") }
}
