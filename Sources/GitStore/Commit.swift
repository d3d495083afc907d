import CGit2

/// A commit object, freed in deinit; keeps its repository alive.
final class Commit {
    private let repository: GitRepository
    private let pointer: OpaquePointer
    private var lib: LibGit2 { repository.lib }
    let id: ObjectID

    init(_ id: ObjectID, in repository: GitRepository) throws {
        let lib = repository.lib
        self.repository = repository
        self.id = id
        pointer = try repository.withHandle { repo in
            try id.withOID { oid in try lib.make("git_commit_lookup") { lib.commitLookup($0, repo, oid) } }
        }
    }

    deinit { lib.commitFree(pointer) }

    var treeID: ObjectID { ObjectID(lib.commitTreeID(pointer)!.pointee) }

    /// The committer's time, unix seconds.
    var committerTime: Int64 { lib.commitTime(pointer) }

    var parents: [ObjectID] {
        (0..<lib.commitParentCount(pointer)).compactMap { lib.commitParentID(pointer, $0).map { ObjectID($0.pointee) } }
    }

    var info: CommitInfo {
        var message = lib.commitMessage(pointer).map { String(cString: $0) } ?? ""
        if message.hasSuffix("\n") { message.removeLast() }
        let author = lib.commitAuthor(pointer)?.pointee
        return CommitInfo(
            id: id,
            parents: parents,
            message: message,
            author: Signature(name: author?.name.map { String(cString: $0) } ?? "",
                              email: author?.email.map { String(cString: $0) } ?? ""),
            time: author?.when.time ?? 0)
    }

    /// Lends the `git_commit *`; valid only inside `body`.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(pointer)
    }
}

/// A `git_signature` stamped with the current time and zone, freed in deinit.
final class SignatureStamp {
    private let lib: LibGit2
    private let pointer: UnsafeMutablePointer<git_signature>

    init(_ signature: Signature, lib: LibGit2) throws {
        self.lib = lib
        var out: UnsafeMutablePointer<git_signature>?
        try lib.check(lib.signatureNow(&out, signature.name, signature.email), "git_signature_now")
        guard let out else { throw GitError.call(function: "git_signature_now", code: -1, message: "returned no signature") }
        pointer = out
    }

    deinit { lib.signatureFree(pointer) }

    func withHandle<R>(_ body: (UnsafePointer<git_signature>) throws -> R) rethrows -> R {
        try body(pointer)
    }
}
