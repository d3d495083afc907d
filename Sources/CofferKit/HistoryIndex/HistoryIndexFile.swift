import Age
import GitStore
import Posix
import SSHSig

/// The history index's bytes (docs/FORMAT.md, "The history index"):
/// binary, integers little-endian, ending in a BLAKE2b-256 checksum of
/// everything before it. Any file that is short, long, out of range or fails its
/// checksum reads as no index, so it is rebuilt; it is never repaired.
extension HistoryIndex {
    static let magic = Array("coffer-history-index 1\n".utf8)
    private static let noObject = [UInt8](repeating: 0, count: 20)
    private static let checksumSize = 32

    /// The index this clone keeps, nil when it is missing or unusable.
    static func load(gitDirectory: String) -> HistoryIndex? {
        guard let bytes = try? Files.read(path: gitDirectory + "/" + fileName) else { return nil }
        return HistoryIndex(decoding: bytes)
    }

    /// Replaces the file atomically (a temporary file renamed over it), so
    /// a reader never sees a torn one and racing writers leave one whole
    /// index. Not synced: a file a crash damages fails its checksum.
    func save(gitDirectory: String) throws {
        do {
            try Files.makeDirectories(CloneFile.directory(gitDirectory: gitDirectory))
            let file = try AtomicFileSink(path: gitDirectory + "/" + HistoryIndex.fileName, durable: false)
            let bytes = encoded()
            try bytes.withUnsafeBytes { try file.write($0) }
            try file.commit()
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    func encoded() -> [UInt8] {
        var out = HistoryIndex.magic
        out += head.bytes
        append(UInt32(paths.count), to: &out)
        for path in paths {
            append(UInt32(path.utf8.count), to: &out)
            out += path.utf8
        }
        append(UInt32(changes.count), to: &out)
        for change in changes {
            out += change.commit.bytes
            append(UInt32(change.path), to: &out)
            out += change.blob?.bytes ?? HistoryIndex.noObject
        }
        append(UInt32(renames.count), to: &out)
        for rename in renames {
            out += rename.commit.bytes
            append(UInt32(rename.from), to: &out)
            append(UInt32(rename.to), to: &out)
        }
        // Sorted, so the same index always has the same bytes.
        let signed = signingKeys.sorted { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }
        append(UInt32(signed.count), to: &out)
        for (commit, key) in signed {
            out += commit.bytes
            switch key {
            case .unsigned: out += [0] + [UInt8](repeating: 0, count: 32)
            case .bad: out += [1] + [UInt8](repeating: 0, count: 32)
            case .key(let key): out += [2] + key.bytes
            }
        }
        out += out.withUnsafeBytes { Digest.checksum($0) }
        return out
    }

    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= HistoryIndex.magic.count + 20 + HistoryIndex.checksumSize else { return nil }
        let body = bytes.count - HistoryIndex.checksumSize
        guard bytes[..<HistoryIndex.magic.count].elementsEqual(HistoryIndex.magic),
              bytes.withUnsafeBytes({ Digest.checksum(UnsafeRawBufferPointer(rebasing: $0[..<body])) }).elementsEqual(bytes[body...])
        else { return nil }
        var reader = Reader(bytes: bytes, end: body, at: HistoryIndex.magic.count)
        guard let head = reader.object(), let head else { return nil }
        self.init(head: head.id)
        guard let pathCount = reader.count(each: 4) else { return nil }
        for _ in 0..<pathCount {
            guard let length = reader.count(each: 1), let text = reader.bytes(length),
                  let path = String(validating: text, as: UTF8.self) else { return nil }
            paths.append(path)
        }
        guard let changeCount = reader.count(each: 44) else { return nil }
        changes.reserveCapacity(changeCount)
        for _ in 0..<changeCount {
            guard let commit = reader.object(), let commit, let path = reader.number(below: paths.count),
                  let blob = reader.object() else { return nil }
            changes.append(Change(commit: commit, path: path, blob: blob))
        }
        guard let renameCount = reader.count(each: 28) else { return nil }
        for _ in 0..<renameCount {
            guard let commit = reader.object(), let commit, let from = reader.number(below: paths.count),
                  let to = reader.number(below: paths.count) else { return nil }
            renames.append(Rename(commit: commit, from: from, to: to))
        }
        guard let keyCount = reader.count(each: 53) else { return nil }
        for _ in 0..<keyCount {
            guard let object = reader.object(), let commit = object?.id, let kind = reader.bytes(1), let key = reader.bytes(32) else {
                return nil
            }
            switch kind.first {
            case 0: signingKeys[commit] = .unsigned
            case 1: signingKeys[commit] = .bad
            case 2:
                guard let key = try? SSHEd25519PublicKey(bytes: Array(key)) else { return nil }
                signingKeys[commit] = .key(key)
            default: return nil
            }
        }
        guard reader.at == body else { return nil }
    }

    private func append(_ value: UInt32, to out: inout [UInt8]) {
        out += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    /// Reads fields in order; every method returns nil past the end.
    private struct Reader {
        let bytes: [UInt8]
        let end: Int
        var at: Int

        mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, count <= end - at else { return nil }
            defer { at += count }
            return bytes[at..<at + count]
        }

        mutating func uint32() -> Int? {
            guard let b = bytes(4) else { return nil }
            return b.reversed().reduce(0) { $0 << 8 | Int($1) }
        }

        /// A count of items of at least `each` bytes that the rest can hold.
        mutating func count(each: Int) -> Int? {
            guard let count = uint32(), count <= (end - at) / each else { return nil }
            return count
        }

        mutating func number(below limit: Int) -> Int? {
            guard let number = uint32(), number < limit else { return nil }
            return number
        }

        /// An object id; `.some(nil)` for the all-zero "none".
        mutating func object() -> HistoryIndex.Object?? {
            guard let raw = bytes(20) else { return nil }
            return raw.allSatisfy { $0 == 0 } ? .some(nil) : .some(HistoryIndex.Object(raw: raw))
        }
    }
}
