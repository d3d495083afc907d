import SSHSig

/// Signs the commits a vault makes: given a commit object's bytes, returns
/// the armored SSH signature (SSHSIG, namespace `git`) that goes into its
/// `gpgsig` header, so stock `git verify-commit` can tell who made it. The
/// library never loads a key itself: a front end supplies the signer (and
/// may open the key only when the first commit needs it).
///
/// A signature proves which key made the commit, not that what it holds is
/// right. Returning nil commits unsigned: the front end that does so must
/// say so to the user (coffer's CLI does when there is no identity at all).
public struct CommitSigner {
    /// Who signs, for messages: a name, a fingerprint or an identity path.
    public let signer: String
    private let body: ([UInt8]) throws -> String?
    private let unlock: (() throws -> Void)?

    /// `sign` gets the commit object's bytes and returns the armored
    /// signature, nil to leave the commit unsigned, or throws to make no
    /// commit. `prepare`, if given, runs before a write takes the vault's
    /// lock: the place to ask for a passphrase, so no one waits on the lock
    /// while the user types, and a wrong one fails before any work.
    public init(signer: String, prepare: (() throws -> Void)? = nil, sign: @escaping ([UInt8]) throws -> String?) {
        self.signer = signer
        body = sign
        unlock = prepare
    }

    /// Signs with `key`, already opened.
    public init(key: SSHSigningKey, signer: String? = nil) {
        self.init(signer: signer ?? key.publicKey.fingerprint) { try key.sign($0, namespace: CommitSigner.namespace) }
    }

    /// The SSHSIG namespace git uses for commits and tags.
    public static let namespace = "git"

    /// Readies the key (see `init`); called before the vault's lock is taken.
    public func prepare() throws {
        try unlock?()
    }

    /// The armored signature over `commit`, or nil (unsigned).
    public func sign(_ commit: [UInt8]) throws -> String? {
        try body(commit)
    }
}
