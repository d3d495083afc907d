/// Who made a commit. Comes from the caller or git config; never secret.
public struct Signature: Equatable, Sendable {
    public var name: String
    public var email: String

    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// One commit of the history, as `log` reports it.
public struct CommitInfo: Equatable, Sendable {
    public let id: ObjectID
    /// First parent first; empty for a root commit.
    public let parents: [ObjectID]
    /// The message without its final newline.
    public let message: String
    public let author: Signature
    /// Author time, unix seconds.
    public let time: Int64

    public init(id: ObjectID, parents: [ObjectID], message: String, author: Signature, time: Int64) {
        self.id = id
        self.parents = parents
        self.message = message
        self.author = author
        self.time = time
    }
}
