#if canImport(Glibc)
import Glibc
#endif

/// git's index file, versions 2 and 3, read and spliced without libgit2:
/// a `set` changes one entry of ten thousand, and parsing and rewriting
/// every entry through libgit2 cost a third of its instructions.
///
/// Entries are kept as byte ranges of the file as read and copied through
/// unchanged; changed paths get new entries built from `lstat`, as
/// `git add` builds them. Of the optional extensions only the resolve-undo
/// record (`REUC`) is kept: the cached trees (`TREE`), untracked cache,
/// fsmonitor state and offset tables describe entries or offsets that
/// change, and git rebuilds them when it wants them. Anything this reader
/// does not know how to splice safely — version 4's compressed paths, a
/// split or sparse index, another required extension, a checksum that does
/// not match — makes `init` return nil, and the caller uses libgit2.
struct IndexFile {
    private static let signature: [UInt8] = Array("DIRC".utf8)
    private static let checksumSize = 20
    /// Fixed part of a version 2 or 3 entry, up to the path.
    private static let fixedSize = 62

    let bytes: [UInt8]
    let version: UInt32
    /// Each entry's range, in file order (by path, then stage).
    private(set) var entries: [Entry]
    /// The resolve-undo extension, kept whole (header included), if present.
    private let resolveUndo: ArraySlice<UInt8>?
    /// When the file was written (its mtime): entries whose files changed
    /// in that second or later are "racily clean" (see `spliced`).
    private let writtenAt: timespec?

    struct Entry {
        let range: Range<Int>
        let pathRange: Range<Int>
        let stage: Int
    }

    /// An index with no entries, for a repository that has none yet.
    init() {
        bytes = []
        version = 2
        entries = []
        resolveUndo = nil
        writtenAt = nil
    }

    /// `checked`: the checksum is known to match (see `IndexStamp`).
    init?(_ bytes: [UInt8], writtenAt: timespec?, checked: Bool = false) {
        let count = bytes.count
        guard count >= 12 + IndexFile.checksumSize, bytes.prefix(4).elementsEqual(IndexFile.signature) else { return nil }
        let version = IndexFile.uint32(bytes, 4)
        guard version == 2 || version == 3 else { return nil }
        let end = count - IndexFile.checksumSize
        // A checksum of zeros is git's index.skipHash: leave it to libgit2.
        guard bytes[end...].contains(where: { $0 != 0 }) else { return nil }
        if !checked {
            let digest = bytes.withUnsafeBytes { GitSHA1.digest(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
            guard digest.elementsEqual(bytes[end...]) else { return nil }
        }
        let entryCount = Int(IndexFile.uint32(bytes, 8))
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        var offset = 12
        for _ in 0..<entryCount {
            guard offset + IndexFile.fixedSize <= end else { return nil }
            let flags = Int(bytes[offset + 60]) << 8 | Int(bytes[offset + 61])
            let extended = flags & 0x4000 != 0
            if extended && version < 3 { return nil }
            let pathStart = offset + IndexFile.fixedSize + (extended ? 2 : 0)
            var pathEnd = pathStart + (flags & 0x0fff)
            if flags & 0x0fff == 0x0fff {
                guard let nul = bytes[pathStart..<end].firstIndex(of: 0) else { return nil }
                pathEnd = nul
            }
            guard pathEnd < end, bytes[pathEnd] == 0 else { return nil }
            // NULs pad the entry to a multiple of 8 bytes (at least one).
            let next = offset + ((pathEnd - offset + 8) & ~7)
            guard next <= end else { return nil }
            entries.append(Entry(range: offset..<next, pathRange: pathStart..<pathEnd, stage: (flags >> 12) & 3))
            offset = next
        }
        var resolveUndo: ArraySlice<UInt8>?
        while offset < end {
            guard offset + 8 <= end else { return nil }
            let size = Int(IndexFile.uint32(bytes, offset + 4))
            guard size <= end - offset - 8 else { return nil }
            let name = bytes[offset..<offset + 4]
            // Lowercase first letter: required, never to be dropped (split, sparse…).
            guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(name.first!) else { return nil }
            if name.elementsEqual("REUC".utf8) { resolveUndo = bytes[offset..<offset + 8 + size] }
            offset += 8 + size
        }
        self.bytes = bytes
        self.version = version
        self.entries = entries
        self.resolveUndo = resolveUndo
        self.writtenAt = writtenAt
    }

    var hasConflicts: Bool { entries.contains { $0.stage != 0 } }

    /// The stage-0 blob at `path` and whether conflict stages are there.
    func entry(at path: String) -> (blob: ObjectID?, conflicted: Bool) {
        let key = Array(path.utf8)
        var blob: ObjectID?
        var conflicted = false
        var index = lowerBound(key)
        while index < entries.count, compare(entries[index], key) == 0 {
            let entry = entries[index]
            if entry.stage == 0 {
                blob = ObjectID(rawBytes: bytes[entry.range.lowerBound + 40..<entry.range.lowerBound + 60])
            } else {
                conflicted = true
            }
            index += 1
        }
        return (blob, conflicted)
    }

    /// The entry's mode (0o100644, 0o100755, 0o120000…).
    func mode(of entry: Entry) -> UInt32 { IndexFile.uint32(bytes, entry.range.lowerBound + 24) }

    /// Drops every conflict stage.
    mutating func removeConflicts() {
        entries.removeAll { $0.stage != 0 }
    }

    /// The first entry whose path is not below `key` (by git's order: bytes, then stage).
    func lowerBound(_ key: [UInt8]) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if compare(entries[middle], key) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// An entry's path against `key`, as memcmp then length order.
    func compare(_ entry: Entry, _ key: [UInt8]) -> Int {
        let path = bytes[entry.pathRange]
        let common = min(path.count, key.count)
        if common > 0 {
            let rc = path.withUnsafeBytes { a in key.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, common) } }
            if rc != 0 { return Int(rc) }
        }
        return path.count - key.count
    }

    /// True when an entry names a directory of `path` as a file, or lies
    /// below `path` as if it were a directory: git's directory/file clash,
    /// which libgit2 resolves on add and this splice leaves to it.
    func clashes(with path: [UInt8]) -> Bool {
        for (index, byte) in path.enumerated() where byte == UInt8(ascii: "/") {
            let parent = Array(path[..<index])
            let at = lowerBound(parent)
            if at < entries.count, compare(entries[at], parent) == 0 { return true }
        }
        let below = path + [UInt8(ascii: "/")]
        let at = lowerBound(below)
        return at < entries.count && bytes[entries[at].pathRange].starts(with: below)
    }

    /// The file with `changes` applied — each path's entries replaced by
    /// the new entry (from `entryBytes`), or removed when it has none — and
    /// a new checksum. `changes` must be sorted by path (`precedes`), one per path.
    func spliced(_ changes: [(path: [UInt8], entry: [UInt8]?)]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + changes.reduce(0) { $0 + ($1.entry?.count ?? 0) } + 64)
        out += IndexFile.signature
        IndexFile.append(version, to: &out)
        IndexFile.append(0, to: &out)  // the count, filled in below
        var count = 0
        var next = 0
        func emit(_ change: (path: [UInt8], entry: [UInt8]?)) {
            guard let entry = change.entry else { return }
            out += entry
            count += 1
        }
        for entry in entries {
            while next < changes.count, compare(entry, changes[next].path) > 0 {
                emit(changes[next])
                next += 1
            }
            // Every stage of a changed path goes; its new entry follows.
            if next < changes.count, compare(entry, changes[next].path) == 0 { continue }
            out += bytes[entry.range]
            if isRacilyClean(entry) {
                // Its file may have changed in the old index's own second,
                // which git checks by content; in a newer index it would look
                // clean. Size 0 makes git compare the content once, as git
                // and libgit2 do when they rewrite an index.
                out.replaceSubrange(out.count - entry.range.count + 36..<out.count - entry.range.count + 40, with: [0, 0, 0, 0])
            }
            count += 1
        }
        for change in changes[next...] { emit(change) }
        withUnsafeBytes(of: UInt32(count).bigEndian) { out.replaceSubrange(8..<12, with: $0) }
        if let resolveUndo { out += resolveUndo }
        out += out.withUnsafeBytes { GitSHA1.digest($0) }
        return out
    }

    /// True when the entry's recorded mtime is not older than the second
    /// the file it was read from was written in — git's "racily clean",
    /// judged in seconds as git built without USE_NSEC (Debian's) does;
    /// any entry when that time is unknown.
    private func isRacilyClean(_ entry: Entry) -> Bool {
        guard let writtenAt else { return true }
        return IndexFile.uint32(bytes, entry.range.lowerBound + 8) >= UInt32(truncatingIfNeeded: writtenAt.tv_sec)
    }

    /// A stage-0 entry for `path` holding `blob`, with the work-tree
    /// file's `lstat` data, as `git add` writes it.
    static func entryBytes(path: [UInt8], blob: ObjectID, mode: UInt32, stat info: stat) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fixedSize + path.count + 8)
        // git stores 32-bit stat fields, truncating larger values the same way.
        for field in [info.st_ctim.tv_sec, info.st_ctim.tv_nsec, info.st_mtim.tv_sec, info.st_mtim.tv_nsec] {
            append(UInt32(truncatingIfNeeded: field), to: &out)
        }
        append(UInt32(truncatingIfNeeded: info.st_dev), to: &out)
        append(UInt32(truncatingIfNeeded: info.st_ino), to: &out)
        append(mode, to: &out)
        append(info.st_uid, to: &out)
        append(info.st_gid, to: &out)
        append(UInt32(truncatingIfNeeded: info.st_size), to: &out)
        out += blob.bytes
        let flags = UInt16(min(path.count, 0x0fff))
        out += [UInt8(flags >> 8), UInt8(flags & 0xff)]
        out += path
        let padded = (fixedSize + path.count + 8) & ~7
        out += [UInt8](repeating: 0, count: padded - fixedSize - path.count)
        return out
    }

    /// git's order of index paths: bytes compared as unsigned, a prefix first.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    private static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        out += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}
