import CGit2

/// A commit's place in the graph and what it carries for verification.
public struct CommitNode: Equatable, Sendable {
    public let id: ObjectID
    public let tree: ObjectID
    /// First parent first; empty for a root commit.
    public let parents: [ObjectID]
    /// Committer time, unix seconds: the time git passes to `ssh-keygen` when it verifies.
    public let time: Int64
}

/// The signature a commit carries in its `gpgsig` header and the bytes it
/// signs (the commit object without that header), as git verifies them.
public struct CommitSignatureData: Equatable, Sendable {
    public let armored: [UInt8]
    public let signedData: [UInt8]

    init(armored: [UInt8], signedData: [UInt8]) {
        self.armored = armored
        self.signedData = signedData
    }

    /// A commit object's signature and signed data, nil when unsigned: the
    /// first line starting "gpgsig " (and the lines after it that start
    /// with a space) is the signature, everything else the signed data —
    /// libgit2 1.5's `git_commit_extract_signature`, which looks at every
    /// line, the message's too.
    init?(splitting bytes: [UInt8]) throws {
        let field = Array("gpgsig".utf8)
        var signed: [UInt8] = []
        var at = 0
        while let newline = bytes[at...].firstIndex(of: 0x0a), newline + 1 < bytes.count {
            let end = newline + 1
            guard bytes[at...].starts(with: field) else {
                signed += bytes[at..<end]
                at = end
                continue
            }
            at += field.count
            // "gpgsigX…": not the field; the rest of the line is read on.
            guard bytes[at] == 0x20 else { continue }
            var eol = newline
            var signature = Array(bytes[(at + 1)..<eol])
            while eol + 1 < bytes.count, bytes[eol + 1] == 0x20 {
                signature.append(0x0a)
                let start = eol + 2
                guard let next = bytes[start...].firstIndex(of: 0x0a) else {
                    throw GitError.call(function: "git_commit_extract_signature", code: -1, message: "signed commit is malformed")
                }
                signature += bytes[start..<next]
                eol = next
            }
            signed += bytes[(eol + 1)...]
            self.init(armored: signature, signedData: signed)
            return
        }
        return nil
    }
}

extension GitRepository {
    /// The commits reachable from `head` and not from any of `hidden`,
    /// parents before children.
    public func commits(from head: ObjectID, hiding hidden: [ObjectID] = []) throws -> [CommitNode] {
        try natively({ _ in
            // A chain of single-parent commits from `head` down to the one
            // hidden commit is exactly the answer: each is a descendant of
            // it, so none is its ancestor. Anything else (a merge, a long
            // way, several hidden commits) is left to libgit2's walk.
            guard hidden.count == 1 else { throw NativeUnsupported(reason: "several hidden commits") }
            var chain: [CommitNode] = []
            var next = head
            while !hidden.contains(next) {
                guard chain.count < GitRepository.nativeWalkLimit else { throw NativeUnsupported(reason: "a long walk") }
                let node = try node(next)
                guard node.parents.count == 1 else { throw NativeUnsupported(reason: "a merge or root on the way") }
                chain.append(node)
                next = node.parents[0]
            }
            return chain.reversed()
        }, else: {
            let lib = try lib
            let walk = try withHandle { repo in try lib.make("git_revwalk_new") { lib.revwalkNew($0, repo) } }
            defer { lib.revwalkFree(walk) }
            try lib.check(lib.revwalkSorting(walk, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_REVERSE.rawValue), "git_revwalk_sorting")
            try head.withOID { try lib.check(lib.revwalkPush(walk, $0), "git_revwalk_push") }
            for id in hidden { try id.withOID { try lib.check(lib.revwalkHide(walk, $0), "git_revwalk_hide") } }
            var nodes: [CommitNode] = []
            var oid = git_oid()
            while true {
                let rc = lib.revwalkNext(&oid, walk)
                if rc == GIT_ITEROVER.rawValue { break }
                try lib.check(rc, "git_revwalk_next")
                nodes.append(try node(ObjectID(oid)))
            }
            return nodes
        })
    }

    /// How many commits a native walk reads before leaving the question to libgit2.
    static let nativeWalkLimit = 64

    /// One commit's tree and parents.
    public func node(_ id: ObjectID) throws -> CommitNode {
        let commit = try Commit(id, in: self)
        return CommitNode(id: id, tree: commit.treeID, parents: commit.parents, time: commit.committerTime)
    }

    /// True when `ancestor` is `commit` or one of its ancestors.
    public func isAncestor(_ ancestor: ObjectID, of commit: ObjectID) throws -> Bool {
        if ancestor == commit { return true }
        return try natively({ _ in
            // Settled natively when one is found among the other's nearest
            // ancestors: `ancestor` below `commit` answers yes; `commit`
            // below `ancestor` answers no, as history has no cycles; so does
            // a short history of `commit` without `ancestor`.
            var down = ObjectWalk(from: commit), up = ObjectWalk(from: ancestor)
            while down.visited + up.visited < GitRepository.nativeWalkLimit {
                // Every ancestor of `commit` seen, and `ancestor` not among them.
                if down.isDone { return false }
                if try down.step(self, looking: ancestor) { return true }
                if try up.step(self, looking: commit) { return false }
            }
            throw NativeUnsupported(reason: "a long walk")
        }, else: {
            let lib = try lib
            let rc = try withHandle { repo in commit.withOID { c in ancestor.withOID { a in lib.graphDescendantOf(repo, c, a) } } }
            try lib.check(rc, "git_graph_descendant_of")
            return rc == 1
        })
    }

    /// The best common ancestor of two commits, nil when they share none.
    public func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        let lib = try lib
        var oid = git_oid()
        let rc = try withHandle { repo in one.withOID { a in two.withOID { b in lib.mergeBase(&oid, repo, a, b) } } }
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try lib.check(rc, "git_merge_base")
        return ObjectID(oid)
    }

    /// Every best common ancestor of two commits: one in a plain history,
    /// several after criss-cross merges, none for unrelated histories.
    public func mergeBases(_ one: ObjectID, _ two: ObjectID) throws -> [ObjectID] {
        let lib = try lib
        var array = git_oidarray()
        let rc = try withHandle { repo in one.withOID { a in two.withOID { b in lib.mergeBases(&array, repo, a, b) } } }
        if rc == GIT_ENOTFOUND.rawValue { return [] }
        try lib.check(rc, "git_merge_bases")
        defer { lib.oidarrayDispose(&array) }
        return (0..<array.count).map { ObjectID(array.ids[$0]) }
    }

    /// The commit's `gpgsig` signature and the data it signs, nil when unsigned.
    public func commitSignature(_ id: ObjectID) throws -> CommitSignatureData? {
        try CommitSignatureData(splitting: readObject(id, as: .commit))
    }

    /// The regular files named one of `names` (all when nil; anywhere in the tree, down to
    /// `maxTreeDepth`) that differ between two root trees (nil: empty),
    /// sorted by path. Subtrees with the same id on both sides are never read.
    public func changedFiles(named names: Set<String>?, from old: ObjectID?, to new: ObjectID?) throws -> [FileChange] {
        var found: [FileChange] = []
        try compare(old, new, base: "", names: names, depth: 0, into: &found)
        return found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private func compare(_ old: ObjectID?, _ new: ObjectID?, base: String, names: Set<String>?, depth: Int,
                         into found: inout [FileChange]) throws {
        // Deeper than any vault path goes: nothing there is a file coffer
        // reads, and a pushed tree must not stop every later command.
        guard old != new, depth <= GitRepository.maxTreeDepth else { return }
        let (oldEntries, oldRepeated) = try old.map { try entries(of: Tree($0, in: self)) } ?? ([:], [])
        let (newEntries, newRepeated) = try new.map { try entries(of: Tree($0, in: self)) } ?? ([:], [])
        for raw in Set(oldEntries.keys).union(newEntries.keys) {
            let before = oldEntries[raw], after = newEntries[raw]
            let name = String(decoding: raw, as: UTF8.self)
            // A name given twice in a tree (git fsck's duplicateEntries): which
            // entry counts is what must not be guessed; reported whatever it
            // names, as another kind, so a judge holds the commit.
            if oldRepeated.contains(raw) || newRepeated.contains(raw) {
                found.append(FileChange(path: base + name, old: nil, new: nil, otherKind: true))
                continue
            }
            guard before?.id != after?.id || before?.mode != after?.mode else { continue }
            let oldTree = before?.isTree == true ? before?.id : nil, newTree = after?.isTree == true ? after?.id : nil
            if oldTree != nil || newTree != nil {
                try compare(oldTree, newTree, base: base + name + "/", names: names, depth: depth + 1, into: &found)
            }
            guard names?.contains(name) ?? true else { continue }
            let oldBlob = before?.isFile == true ? before?.id : nil, newBlob = after?.isFile == true ? after?.id : nil
            let odd = [before, after].contains { $0.map { !$0.isFile && !$0.isTree } ?? false }
            if oldBlob != newBlob || odd {
                found.append(FileChange(path: base + name, old: oldBlob, new: newBlob, otherKind: odd))
            }
        }
    }

    /// A tree's entries by raw name (the first of a name, as git reads it),
    /// and the names given more than once.
    private func entries(of tree: Tree) -> ([[UInt8]: Tree.Entry], Set<[UInt8]>) {
        var result: [[UInt8]: Tree.Entry] = [:]
        var repeated: Set<[UInt8]> = []
        for entry in tree.entries where result.updateValue(result[entry.rawName] ?? entry, forKey: entry.rawName) != nil {
            repeated.insert(entry.rawName)
        }
        return (result, repeated)
    }
}

/// A file that differs between two trees; nil for a side where it is not a
/// regular file. `otherKind`: one side holds a symlink or submodule there.
public struct FileChange: Equatable, Sendable {
    public let path: String
    public let old: ObjectID?
    public let new: ObjectID?
    public let otherKind: Bool
}

/// A breadth-first walk over a commit's ancestors, a commit at a time.
struct ObjectWalk {
    private var queue: [ObjectID]
    private var seen: Set<ObjectID>
    private(set) var visited = 0

    init(from start: ObjectID) {
        queue = [start]
        seen = [start]
    }

    var isDone: Bool { queue.isEmpty }

    /// Reads the next commit; true when one of its parents is `wanted`.
    mutating func step(_ repository: GitRepository, looking wanted: ObjectID) throws -> Bool {
        guard !queue.isEmpty else { return false }
        let node = try repository.node(queue.removeFirst())
        visited += 1
        for parent in node.parents where seen.insert(parent).inserted {
            if parent == wanted { return true }
            queue.append(parent)
        }
        return false
    }
}
