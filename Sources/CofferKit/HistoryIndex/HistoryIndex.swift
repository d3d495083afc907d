import GitStore

/// This clone's index of which first-parent commits changed which sealed
/// file, so that `history` reads a secret's few dozen commits instead of
/// walking every commit of the vault. It lives in `.git/coffer/history-index`
/// (docs/FORMAT.md), is never committed, and is a cache, never an
/// authority: it is used only when its checksum holds, it is brought up to
/// HEAD before every use (extended over new commits, cut back to the
/// newest commit it shares with a rewritten history), and an answer that
/// disagrees with the trees it names is thrown away for a fresh walk. Any
/// file that fails these checks is rebuilt, silently.
///
/// Beside the changes it keeps the key that signed each commit `history`
/// has shown (`signingKeys`): a pure function of the commit's bytes, which
/// the commit id names, so no change of trust ever invalidates it. The mark
/// shown is worked out afresh on every run from that key and this clone's
/// current trust (see `SignatureChecker`).
struct HistoryIndex: Equatable {
    /// Where the index lives, below the git directory.
    static let fileName = "coffer/history-index"

    /// The commit the index was brought up to: HEAD when it was written.
    var head: ObjectID
    /// Sealed-file paths (`ID.age`); changes and renames name them by position.
    var paths: [String] = []
    /// Every change of a sealed file along the first-parent chain up to
    /// `head`, oldest first; one commit's changes are contiguous. A change
    /// records the blob after it (nil: removed); the blob before it is the
    /// one the path's previous change left, so it is not stored.
    var changes: [Change] = []
    /// The `Coffer-Renamed` trailers that `history` follows: only the first
    /// one naming a path its commit created, from a valid id, in a commit
    /// with a parent.
    var renames: [Rename] = []
    /// The key that signed each commit, as far as `history` has asked.
    var signingKeys: [ObjectID: CommitSigningKey] = [:]

    private var numbers: [String: Int]?

    struct Change: Equatable {
        let commit: Object
        let path: Int
        let blob: Object?
    }

    struct Rename: Equatable {
        let commit: Object
        let from: Int
        let to: Int
    }

    /// An object id held inline: the index holds tens of thousands, and
    /// `ObjectID` allocates its bytes.
    struct Object: Hashable {
        private let head: UInt64, middle: UInt64, tail: UInt32

        init(_ id: ObjectID) { self.init(raw: id.bytes[...])! }

        /// Nil unless there are 20 bytes.
        init?(raw: ArraySlice<UInt8>) {
            guard raw.count == 20 else { return nil }
            let start = raw.startIndex
            func word(_ from: Int, _ count: Int) -> UInt64 {
                raw[start + from..<start + from + count].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            }
            head = word(0, 8)
            middle = word(8, 8)
            tail = UInt32(word(16, 4))
        }

        var bytes: [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: head >> ($0 * 8)) } + (0..<8).map { UInt8(truncatingIfNeeded: middle >> ($0 * 8)) }
                + (0..<4).map { UInt8(truncatingIfNeeded: tail >> ($0 * 8)) }
        }

        var id: ObjectID { ObjectID(rawBytes: bytes)! }
    }

    /// One change of a secret's sealed file, as `versionSteps` reports it.
    struct Step: Equatable {
        let id: SecretID
        let commit: ObjectID
        let before: ObjectID?
        let after: ObjectID?
    }

    init(head: ObjectID) { self.head = head }

    /// Equal records; the path lookup built for appending does not count.
    static func == (a: HistoryIndex, b: HistoryIndex) -> Bool {
        a.head == b.head && a.paths == b.paths && a.changes == b.changes && a.renames == b.renames && a.signingKeys == b.signingKeys
    }

    /// The changes of `id`'s sealed file, newest first, following renames
    /// into older ids: what a first-parent walk from `head` finds. Nil when
    /// the index contradicts itself (a change that changes nothing).
    func steps(of id: SecretID) -> [Step]? {
        var steps: [Step] = []
        var current = id
        var path = paths.firstIndex(of: id.relativePath)
        var limit = changes.count
        while let number = path {
            path = nil
            let positions = changes[..<limit].indices.filter { changes[$0].path == number }
            for n in positions.indices.reversed() {
                let change = changes[positions[n]]
                let before = n > 0 ? changes[positions[n - 1]].blob : nil
                guard before != change.blob else { return nil }
                steps.append(Step(id: current, commit: change.commit.id, before: before?.id, after: change.blob?.id))
                // Created here by a rename: older versions live under the old id.
                guard before == nil, let rename = renames.first(where: { $0.commit == change.commit && $0.to == number }),
                      let old = SecretID(relativePath: paths[rename.from]) else { continue }
                current = old
                path = rename.from
                limit = positions[n]
                while limit > 0, changes[limit - 1].commit == change.commit { limit -= 1 }
                break
            }
        }
        return steps
    }

    /// The commits the index holds changes of, and its head.
    var knownCommits: Set<Object> {
        var known = Set(changes.map(\.commit))
        known.insert(Object(head))
        return known
    }

    /// Drops everything newer than `commit`, a commit it knows: the history
    /// above it was rewritten. Cached signing keys of dropped commits go too.
    mutating func cut(after commit: ObjectID) {
        guard commit != head else { return }
        let object = Object(commit)
        if let last = changes.lastIndex(where: { $0.commit == object }) { changes.removeSubrange((last + 1)...) }
        let kept = Set(changes.map(\.commit))
        renames.removeAll { !kept.contains($0.commit) }
        signingKeys = signingKeys.filter { kept.contains(Object($0.key)) }
        head = commit
    }

    /// Appends `commit`'s changes (made on top of everything already held)
    /// and the rename trailers naming a path it created; a root commit's
    /// renames are not followed (there is nothing older), so pass none.
    mutating func append(_ commit: ObjectID, changes found: [FileChange], renames trailers: [(from: String, to: String)]) {
        let object = Object(commit)
        for change in found {
            changes.append(Change(commit: object, path: number(of: change.path), blob: change.new.map(Object.init)))
        }
        for change in found where change.old == nil && change.new != nil {
            guard let rename = trailers.first(where: { $0.to + SecretID.fileExtension == change.path }),
                  let old = try? SecretID(rename.from) else { continue }
            renames.append(Rename(commit: object, from: number(of: old.relativePath), to: number(of: change.path)))
        }
        head = commit
    }

    private mutating func number(of path: String) -> Int {
        if numbers == nil { numbers = Dictionary(paths.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first }) }
        if let known = numbers?[path] { return known }
        paths.append(path)
        numbers?[path] = paths.count - 1
        return paths.count - 1
    }
}
