import Age
import GitStore

/// One version of a secret: a commit that changed its sealed file.
public struct SecretVersion: Equatable, Sendable {
    /// How the sealed file changed in this version.
    public enum Change: String, Sendable {
        /// The file appeared (first set, the new id of a rename).
        case created
        /// A new value was set.
        case value
        /// An earlier value came back (`rollback`, `restore`).
        case restored
        /// The same value re-encrypted under a fresh data key (rotate, a reader removed).
        case rekey
        /// Only the header changed: the data key was re-wrapped for other readers.
        case wrapping
        /// The file was removed.
        case deleted

        /// What the recorded action says about a changed file.
        static func of(before: ObjectID?, after: ObjectID?, samePayload: () throws -> Bool, action: String) rethrows -> Change {
            let recorded = Action(rawValue: action)
            switch (before, after) {
            case (_, nil): return .deleted
            case (nil, _): return recorded == .restore || recorded == .rollback ? .restored : .created
            default:
                if try samePayload() { return .wrapping }
                if recorded == .restore || recorded == .rollback { return .restored }
                return recorded?.keepsValues == true ? .rekey : .value
            }
        }
    }

    /// 1 for the oldest version; `vN` names it on the command line.
    public let number: Int
    /// The id the secret had then (older than a `mv`, it is the old id).
    public let id: SecretID
    /// The commit, its signature and the action it counts as.
    public let origin: CommitOrigin
    /// How the sealed file changed, read from the action shown (a claim
    /// that does not count cannot call a new value a re-key).
    public let change: Change
    let blob: ObjectID?

    /// The commit id (hex).
    public var commit: String { origin.commit }
    /// The commit time, seconds since 1970.
    public var time: Int64 { origin.time }
    /// The commit author's name (text from outside: escape before showing it).
    public var author: String { origin.author }
    /// The action shown (see `CommitOrigin.action`).
    public var action: String { origin.action }
}

/// One commit of the vault, as `coffer log` shows it.
public struct VaultLogEntry: Equatable, Sendable {
    /// The commit, its signature and the action it counts as.
    public let origin: CommitOrigin
    /// The ids the commit names in its `Coffer-Id` trailers.
    public let ids: [String]

    /// The commit id (hex).
    public var commit: String { origin.commit }
    /// The commit time, seconds since 1970.
    public var time: Int64 { origin.time }
    /// The commit author's name (text from outside).
    public var author: String { origin.author }
    /// The action shown (see `CommitOrigin.action`).
    public var action: String { origin.action }
}

/// Reads the coffer trailers of a commit message.
struct Trailers {
    var action = CommitOrigin.git
    var ids: [String] = []
    var renames: [(from: String, to: String)] = []

    init(_ message: String) {
        // In plain ASCII without CR (every message coffer writes) each
        // Character is one byte, so lines and prefixes are compared as
        // bytes, many times faster; other text Character by Character.
        let ascii = message.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "\r") }
        let lines = ascii ? message.utf8.split(separator: UInt8(ascii: "\n")).map { Substring($0) } : message.split(separator: "\n")
        for line in lines {
            func value(after prefix: String) -> Substring? {
                guard ascii ? line.utf8.starts(with: prefix.utf8) : line.hasPrefix(prefix) else { return nil }
                return line.dropFirst(prefix.count)
            }
            guard line.utf8.starts(with: "Coffer-".utf8) else { continue }
            if let action = value(after: "Coffer-Action: ") { self.action = String(action) }
            if let id = value(after: "Coffer-Id: ") { ids.append(String(id)) }
            if let renamed = value(after: "Coffer-Renamed: ") {
                let parts = renamed.split(separator: " ")
                if parts.count == 3, parts[1] == "->" { renames.append((String(parts[0]), String(parts[2]))) }
            }
        }
    }
}

/// A commit that changed a secret's sealed file, as the walk finds it.
struct VersionStep {
    /// The id the secret had then.
    let id: SecretID
    let commit: CommitInfo
    let claimedAction: String
    let before: ObjectID?
    let after: ObjectID?
}

extension Vault {
    /// Every version of `id`, newest first, following renames made with
    /// `mv`, each with its commit's signature as `checker` (default: a
    /// fresh one) marks it.
    public func history(of id: SecretID, checker: SignatureChecker? = nil) throws -> [SecretVersion] {
        var indexed = try? indexedVersionSteps(of: id)
        let steps = try indexed?.steps ?? walkedVersionSteps(of: id)
        guard !steps.isEmpty else {
            indexed?.save(gitDirectory: gitDirectory, learningFrom: nil)
            return []
        }
        let repo = try repo()
        let checker = try checker ?? signatureChecker()
        for step in steps where checker.signingKeys[step.commit.id] == nil {
            checker.signingKeys[step.commit.id] = indexed?.index.signingKeys[step.commit.id]
        }
        let versions = try steps.enumerated().map { index, step in
            let origin = try checker.origin(of: step.commit, claiming: step.claimedAction)
            let change = try SecretVersion.Change.of(before: step.before, after: step.after, samePayload: {
                guard let old = step.before, let new = step.after else { return false }
                return Sealing.samePayload(try repo.readBlob(old), try repo.readBlob(new))
            }, action: origin.action)
            return SecretVersion(number: steps.count - index, id: step.id, origin: origin, change: change, blob: step.after)
        }
        indexed?.save(gitDirectory: gitDirectory, learningFrom: checker)
        return versions
    }

    /// The commits that changed `id`'s sealed file, newest first, following
    /// renames: the walk `history` shows and `vN` revisions count. Read from
    /// the history index (brought up to HEAD, and saved when that changed
    /// it); `indexed: false`, or an index that cannot be trusted, walks
    /// the history instead.
    func versionSteps(of id: SecretID, indexed: Bool = true) throws -> [VersionStep] {
        if indexed, var found = try? indexedVersionSteps(of: id) {
            found.save(gitDirectory: gitDirectory, learningFrom: nil)
            return found.steps
        }
        return try walkedVersionSteps(of: id)
    }

    /// `versionSteps` without the index: walks the first-parent history
    /// once, comparing the file's blob in each commit with its parent's.
    func walkedVersionSteps(of id: SecretID) throws -> [VersionStep] {
        let repo = try repo()
        guard let head = try repo.head() else { return [] }
        let walker = try PathWalker(repo)
        let chain = try walker.chain(from: head)
        var current = id
        var found: [VersionStep] = []
        var here = try walker.blob(at: current.relativePath, inTree: chain[0].tree)
        for (index, link) in chain.enumerated() {
            let parentTree = index + 1 < chain.count ? chain[index + 1].tree : nil
            let before = try parentTree.flatMap { try walker.blob(at: current.relativePath, inTree: $0) }
            if here != before {
                let commit = try walker.info(link.commit)
                let trailers = Trailers(commit.message)
                found.append(VersionStep(id: current, commit: commit, claimedAction: trailers.action, before: before, after: here))
                // Created here by a rename: older versions live under the old id.
                if before == nil, let rename = trailers.renames.first(where: { $0.to == current.value }),
                   let old = try? SecretID(rename.from), let parentTree {
                    current = old
                    here = try walker.blob(at: current.relativePath, inTree: parentTree)
                    continue
                }
            }
            here = before
        }
        return found
    }

    /// The vault's commits, newest first; with a prefix, only those touching
    /// ids under it; each with its signature as `checker` (default: a fresh
    /// one) marks it.
    public func log(_ prefix: Prefix = .all, limit: Int = Int.max, checker: SignatureChecker? = nil) throws -> [VaultLogEntry] {
        let repo = try repo()
        let checker = try checker ?? signatureChecker()
        var entries: [VaultLogEntry] = []
        for commit in try repo.log() where entries.count < limit {
            let trailers = Trailers(commit.message)
            let ids = trailers.ids.filter { prefix.contains(path: $0) }
            if !prefix.isAll && ids.isEmpty { continue }
            entries.append(VaultLogEntry(origin: try checker.origin(of: commit, claiming: trailers.action), ids: ids))
        }
        return entries
    }

    /// The sealed file of `id` at `revision`: `vN` (the secret's version N, as
    /// `history` numbers them, possibly under an older id), or anything git
    /// resolves to a commit (an id or prefix, `HEAD~2`, a tag).
    func sealedFile(_ id: SecretID, at revision: String) throws -> (file: [UInt8], id: SecretID) {
        try Text.refuseSecretKey(revision, as: "the revision")
        let repo = try repo()
        if revision.hasPrefix("v"), let number = Int(revision.dropFirst()) {
            let steps = try versionSteps(of: id)
            guard number >= 1, number <= steps.count else {
                throw VaultError.noSuchRevision(id: id.value, revision: revision)
            }
            let step = steps[steps.count - number]
            guard let blob = step.after else { throw VaultError.deletedAt(id: id.value, revision: revision) }
            return (try repo.readBlob(blob), step.id)
        }
        guard let commit = try repo.resolve(revision) else { throw VaultError.noSuchRevision(id: id.value, revision: revision) }
        if let blob = try repo.blob(at: id.relativePath, in: commit) { return (try repo.readBlob(blob), id) }
        // Before a rename the secret lived under another id: the version in
        // force at that commit is the newest one at or before it.
        let steps = try versionSteps(of: id)
        let byCommit = Dictionary(steps.map { ($0.commit.id, $0) }, uniquingKeysWith: { first, _ in first })
        for ancestor in try repo.log(from: commit) {
            guard let step = byCommit[ancestor.id] else { continue }
            guard let blob = step.after else { break }
            return (try repo.readBlob(blob), step.id)
        }
        throw VaultError.deletedAt(id: id.value, revision: revision)
    }

    /// The value `id` had at `revision`; a version the identities cannot
    /// open is an error naming the id and the revision.
    func open(_ id: SecretID, at revision: String, identities: [Identity]) throws -> SecureBytes {
        let (file, boundID) = try sealedFile(id, at: revision)
        do {
            return try Sealing.open(file, id: boundID, identities: identities)
        } catch VaultError.notReadable(_, nil) {
            throw VaultError.notReadable(id: id.value, revision: revision)
        }
    }

    /// The last value `id` held before it was removed.
    func lastValueBeforeRemoval(_ id: SecretID, identities: [Identity]) throws -> SecureBytes {
        let steps = try versionSteps(of: id)
        guard let index = steps.firstIndex(where: { $0.after != nil }) else { throw VaultError.notFound(id: id.value) }
        return try open(id, at: "v\(steps.count - index)", identities: identities)
    }
}
