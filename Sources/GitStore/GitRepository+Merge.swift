#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

/// One file both sides of a merge changed, as a merge driver sees it.
public struct MergeInput {
    public let path: String
    /// Nil when both sides added the file.
    public let base: [UInt8]?
    public let ours: [UInt8]
    public let theirs: [UInt8]
}

/// A path the merge left for a person: the blob each side holds there (nil
/// where the side has none, e.g. deleted it).
public struct MergeConflict: Equatable, Sendable {
    public let path: String
    public let base: ObjectID?
    public let ours: ObjectID?
    public let theirs: ObjectID?

    public init(path: String, base: ObjectID?, ours: ObjectID?, theirs: ObjectID?) {
        self.path = path
        self.base = base
        self.ours = ours
        self.theirs = theirs
    }
}

/// The result of merging two commits' trees.
public struct TreeMerge: Sendable {
    /// The merged tree; each conflicted path holds ours' version (or
    /// nothing, if ours has none there).
    public let tree: ObjectID
    public let conflicts: [MergeConflict]
}

extension GitRepository {
    /// The name under which coffer's merge driver is registered with libgit2,
    /// and which `.git/info/attributes` names for the files it merges.
    public static let mergeDriverName = "coffer"

    /// Merges `theirs` into `ours` in memory (libgit2's three-way tree
    /// merge; no rename detection, since a moved secret is re-sealed under
    /// its new id anyway), without touching the index, work tree or any ref.
    /// Files whose `merge` attribute names `coffer` and that both sides
    /// changed go to `driver`, which returns the merged bytes or nil for a
    /// conflict. libgit2 does not run external drivers, so this is the
    /// in-process door to the same code `coffer merge-driver` runs for git.
    /// A file bigger than `maxFileSize` on any side is a conflict, never read
    /// (a pushed file must not cost this process its memory).
    public func mergeTrees(ours: ObjectID, theirs: ObjectID, maxFileSize: Int,
                           driver: @escaping (MergeInput) -> [UInt8]?) throws -> TreeMerge {
        let merge = try MergeFunctions.load()
        try InProcessDriver.register(merge, lib: lib)
        let walker = try PathWalker(self)
        let lib = try lib
        var options = git_merge_options()
        try lib.check(merge.optionsInit(&options, UInt32(GIT_MERGE_OPTIONS_VERSION)), "git_merge_options_init")
        options.flags = 0
        let index: OpaquePointer = try InProcessDriver.with(driver, repository: self, sizes: { try walker.size(of: $0) <= maxFileSize }) {
            try withHandle { repo in
                try withCommitHandle(ours) { o in
                    try withCommitHandle(theirs) { t in
                        try lib.make("git_merge_commits") { merge.mergeCommits($0, repo, o, t, &options) }
                    }
                }
            }
        }
        defer { lib.indexFree(index) }
        if let failure = InProcessDriver.takeFailure() { throw failure }
        let conflicts = try settleConflicts(in: index, merge)
        var oid = git_oid()
        try lib.check(withHandle { merge.writeTreeTo(&oid, index, $0) }, "git_index_write_tree_to")
        return TreeMerge(tree: ObjectID(oid), conflicts: conflicts)
    }

    /// Lends libgit2's `git_commit *` for `id`; valid only inside `body`.
    func withCommitHandle<R>(_ id: ObjectID, _ body: (OpaquePointer) throws -> R) throws -> R {
        let lib = try lib
        let commit = try withHandle { repo in
            try id.withOID { oid in try lib.make("git_commit_lookup") { lib.commitLookup($0, repo, oid) } }
        }
        defer { lib.commitFree(commit) }
        return try body(commit)
    }

    /// Lists the index's conflicts and leaves ours' entry in each one's place.
    private func settleConflicts(in index: OpaquePointer, _ merge: MergeFunctions) throws -> [MergeConflict] {
        var found: [(MergeConflict, git_index_entry?)] = []
        let iterator = try lib.make("git_index_conflict_iterator_new") { merge.conflictIteratorNew($0, index) }
        defer { merge.conflictIteratorFree(iterator) }
        while true {
            var base: MergeFunctions.Entry?, ours: MergeFunctions.Entry?, theirs: MergeFunctions.Entry?
            let rc = merge.conflictNext(&base, &ours, &theirs, iterator)
            if rc == GIT_ITEROVER.rawValue { break }
            try lib.check(rc, "git_index_conflict_next")
            guard let path = (ours ?? theirs ?? base)?.pointee.path.map({ String(cString: $0) }) else { continue }
            found.append((MergeConflict(path: path, base: base.map { ObjectID($0.pointee.id) },
                                        ours: ours.map { ObjectID($0.pointee.id) }, theirs: theirs.map { ObjectID($0.pointee.id) }),
                          ours?.pointee))
        }
        for (conflict, ours) in found {
            try lib.check(merge.conflictRemove(index, conflict.path), "git_index_conflict_remove")
            guard var entry = ours else { continue }
            try conflict.path.withCString { path in
                entry.path = path
                entry.flags = 0
                entry.flags_extended = 0
                try lib.check(lib.indexAdd(index, &entry), "git_index_add")
            }
        }
        return found.map(\.0)
    }
}

/// The driver libgit2 calls back, registered once per process. libgit2's
/// registry is process-wide, so the Swift closure of the merge under way is
/// kept here, one merge at a time (a lock serializes them).
private enum InProcessDriver {
    nonisolated(unsafe) private static var current: (driver: (MergeInput) -> [UInt8]?, repository: GitRepository,
                                                     fits: (ObjectID) throws -> Bool)?
    nonisolated(unsafe) private static var failure: Error?
    nonisolated(unsafe) private static var functions: MergeFunctions?
    nonisolated(unsafe) private static var registered = false
    private static let lock = ProcessLock()

    static func register(_ merge: MergeFunctions, lib: LibGit2) throws {
        try lock.locked {
            guard !registered else { return }
            functions = merge
            let driver = UnsafeMutablePointer<git_merge_driver>.allocate(capacity: 1)
            driver.initialize(to: git_merge_driver())
            driver.pointee.version = UInt32(GIT_MERGE_DRIVER_VERSION)
            driver.pointee.apply = apply
            // Never freed: libgit2 keeps the pointer for the life of the process.
            try lib.check(merge.driverRegister(GitRepository.mergeDriverName, driver), "git_merge_driver_register")
            registered = true
        }
    }

    static func with<R>(_ driver: @escaping (MergeInput) -> [UInt8]?, repository: GitRepository,
                        sizes fits: @escaping (ObjectID) throws -> Bool, _ body: () throws -> R) throws -> R {
        try lock.locked {
            current = (driver, repository, fits)
            failure = nil
            defer { current = nil }
            return try body()
        }
    }

    static func takeFailure() -> Error? {
        defer { failure = nil }
        return failure
    }

    /// `git_merge_driver_apply_fn`: reads the three blobs, asks the Swift
    /// driver, hands libgit2 a malloc'd buffer (it frees it with free(3),
    /// its default allocator) or reports a conflict.
    private static let apply: git_merge_driver_apply_fn = { _, pathOut, modeOut, mergedOut, _, source in
        guard let current, let functions, let source, let pathOut, let modeOut, let mergedOut,
              let ours = functions.sourceOurs(source), let theirs = functions.sourceTheirs(source)
        else { return GIT_EMERGECONFLICT.rawValue }
        let base = functions.sourceAncestor(source)
        do {
            let repo = current.repository
            let blobs = [base, ours, theirs].compactMap { $0.map { ObjectID($0.pointee.id) } }
            guard try blobs.allSatisfy(current.fits) else { return GIT_EMERGECONFLICT.rawValue }
            let input = MergeInput(path: String(cString: ours.pointee.path),
                                   base: try base.map { try repo.readBlob(ObjectID($0.pointee.id)) },
                                   ours: try repo.readBlob(ObjectID(ours.pointee.id)),
                                   theirs: try repo.readBlob(ObjectID(theirs.pointee.id)))
            guard let merged = current.driver(input) else { return GIT_EMERGECONFLICT.rawValue }
            // NUL-terminated, as a git_buf is.
            let buffer = malloc(merged.count + 1)!.assumingMemoryBound(to: CChar.self)
            merged.withUnsafeBytes { if let base = $0.baseAddress { memcpy(buffer, base, merged.count) } }
            buffer[merged.count] = 0
            mergedOut.pointee = git_buf(ptr: buffer, reserved: merged.count + 1, size: merged.count)
            pathOut.pointee = ours.pointee.path
            modeOut.pointee = ours.pointee.mode
            return 0
        } catch {
            failure = error
            return GIT_EUSER.rawValue
        }
    }
}

/// A process-wide mutex.
private final class ProcessLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }

    func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
