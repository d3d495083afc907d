#if canImport(Glibc)
import Glibc
#endif
import Posix

/// Writes git objects into a new pack file and its index, as they come:
/// each object is appended whole (no delta search — sealed files are random
/// bytes, and a re-wrapped header shares nothing a delta could use) as a
/// zlib stream (blobs stored, trees and commits deflated), and only its id,
/// offset and CRC-32 stay in memory. Formats:
/// git's `gitformat-pack(5)`, pack version 2 and index version 2; SHA-1
/// (ids and checksums) through `GitSHA1`, deflate and CRC-32 through zlib.
///
/// `finish` leaves `<name>.pack` and `<name>.idx` under temporary names in
/// the directory given, flushed; the caller moves them into
/// `objects/pack` (see `GitRepository.writePack`). A writer dropped before
/// `finish` removes its file.
final class PackWriter {
    /// Pack type numbers (also libgit2's `git_object_t`) and the names an
    /// object id hashes.
    enum Kind: UInt8 {
        case commit = 1, tree = 2, blob = 3, tag = 4

        var name: String {
            switch self {
            case .commit: return "commit"
            case .tree: return "tree"
            case .blob: return "blob"
            case .tag: return "tag"
            }
        }
    }

    /// The finished pack: its temporary files and the name git gives it
    /// (`pack-<checksum>`).
    struct Finished {
        let packPath: String
        let indexPath: String
        let name: String
    }

    private static let bufferSize = 1 << 16

    private let packPath: String
    private let indexPath: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Bytes written to the file so far (the buffer not counted).
    private var flushed = 0
    /// Each object's id, offset, CRC-32, and where its zlib stream lies
    /// (to read it back) and how long it is inflated.
    private var entries: [(id: ObjectID, offset: Int, crc: UInt32, stream: Range<Int>, size: Int)] = []
    /// Blobs are stored, other objects deflated (see `Deflate.stored`).
    private let deflate: Deflate
    private let store: Deflate
    /// The position of each id in `entries`.
    private var positions: [ObjectID: Int] = [:]
    private var finished = false

    /// Starts `pack-new.pack` in `directory` (which must hold no such file).
    init(directory: String) throws {
        packPath = directory + "/pack-new.pack"
        indexPath = directory + "/pack-new.idx"
        let fd = open(packPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw PackWriter.failure("open", packPath) }
        self.fd = fd
        do {
            deflate = try Deflate()
            store = try Deflate(level: Deflate.stored)
        } catch {
            close(fd)
            unlink(packPath)
            throw error
        }
        buffer.reserveCapacity(PackWriter.bufferSize)
        // The count is filled in by `finish`, once known.
        buffer += Array("PACK".utf8) + PackWriter.bigEndian(UInt32(2)) + PackWriter.bigEndian(UInt32(0))
    }

    deinit {
        close(fd)
        if !finished {
            unlink(packPath)
            unlink(indexPath)
        }
    }

    /// The id git gives an object of `kind` holding `data`:
    /// SHA-1("<kind> <length>\0" + data).
    static func id(of kind: Kind, _ data: UnsafeRawBufferPointer) -> ObjectID {
        let sha = GitSHA1()
        Array("\(kind.name) \(data.count)\0".utf8).withUnsafeBytes { sha.update($0) }
        sha.update(data)
        return PackWriter.objectID(sha.finish())
    }

    /// Appends the object (once: a second add of an id is a no-op) and returns its id.
    @discardableResult
    func add(_ kind: Kind, _ data: UnsafeRawBufferPointer) throws -> ObjectID {
        let id = PackWriter.id(of: kind, data)
        guard positions[id] == nil else { return id }
        // Type and size: 3 bits of type and 4 of size, then 7 bits a byte, low first.
        var header: [UInt8] = []
        var size = data.count >> 4
        var byte = kind.rawValue << 4 | UInt8(data.count & 0x0f)
        while size > 0 {
            header.append(byte | 0x80)
            byte = UInt8(size & 0x7f)
            size >>= 7
        }
        header.append(byte)
        let deflated = try (kind == .blob ? store : deflate).compress(data)
        let crc = try deflated.withUnsafeBytes { body in try header.withUnsafeBytes { try Deflate.crc32(Deflate.crc32(0, $0), body) } }
        let offset = flushed + buffer.count
        positions[id] = entries.count
        entries.append((id, offset, crc, (offset + header.count)..<(offset + header.count + deflated.count), data.count))
        try append(header)
        try append(deflated)
        return id
    }

    /// The size of object `id` (inflated), if the pack holds it.
    func size(of id: ObjectID) -> Int? {
        positions[id].map { entries[$0].size }
    }

    /// The bytes of an object added earlier (nil: none such), read back from the file.
    func read(_ id: ObjectID) throws -> [UInt8]? {
        guard let position = positions[id] else { return nil }
        try flush()
        let entry = entries[position]
        var stream = [UInt8](repeating: 0, count: entry.stream.count)
        let n = stream.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(entry.stream.lowerBound)) }
        guard n == stream.count else { throw PackWriter.failure("pread", packPath, code: n < 0 ? errno : EIO) }
        return try stream.withUnsafeBytes { try Deflate.decompress($0, size: entry.size) }
    }

    /// Completes the pack (count, trailing checksum) and writes its index;
    /// both are flushed to disk.
    func finish() throws -> Finished {
        try flush()
        var count = PackWriter.bigEndian(UInt32(entries.count))
        guard pwrite(fd, &count, 4, 8) == 4 else { throw PackWriter.failure("pwrite", packPath) }
        let checksum = try checksumOfFile()
        try append(checksum)
        try flush()
        guard fsync(fd) == 0 else { throw PackWriter.failure("fsync", packPath) }
        try writeIndex(packChecksum: checksum)
        finished = true
        return Finished(packPath: packPath, indexPath: indexPath, name: "pack-" + PackWriter.objectID(checksum).hex)
    }

    /// The pack's SHA-1, read back from the file: the count at its start is
    /// known only at the end.
    private func checksumOfFile() throws -> [UInt8] {
        let sha = GitSHA1()
        var chunk = [UInt8](repeating: 0, count: PackWriter.bufferSize)
        var offset = 0
        while offset < flushed {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, flushed - offset), off_t(offset)) }
            guard n > 0 else { throw PackWriter.failure("pread", packPath, code: n < 0 ? errno : EIO) }
            chunk.withUnsafeBytes { sha.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        return sha.finish()
    }

    /// Index version 2: fan-out table, sorted ids, CRC-32s, 31-bit offsets
    /// (an offset past 2 GiB points into a table of 64-bit ones), the pack's
    /// checksum, and the index's own.
    private func writeIndex(packChecksum: [UInt8]) throws {
        let sorted = entries.sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
        var index: [UInt8] = [0xff, 0x74, 0x4f, 0x63] + PackWriter.bigEndian(UInt32(2))
        index.reserveCapacity(8 + 1024 + sorted.count * 28 + 40)
        var fanout = [UInt32](repeating: 0, count: 256)
        for entry in sorted { fanout[Int(entry.id.bytes[0])] += 1 }
        var total: UInt32 = 0
        for bucket in fanout {
            total += bucket
            index += PackWriter.bigEndian(total)
        }
        for entry in sorted { index += entry.id.bytes }
        for entry in sorted { index += PackWriter.bigEndian(entry.crc) }
        var large: [UInt8] = []
        for entry in sorted {
            if entry.offset < 1 << 31 {
                index += PackWriter.bigEndian(UInt32(entry.offset))
            } else {
                index += PackWriter.bigEndian(UInt32(large.count / 8) | 1 << 31)
                large += PackWriter.bigEndian(UInt64(entry.offset))
            }
        }
        index += large
        index += packChecksum
        index += index.withUnsafeBytes { GitSHA1.digest($0) }
        let sink = try FileDescriptorSink(path: indexPath, mode: 0o444, exclusive: true)
        try index.withUnsafeBytes { try sink.write($0) }
        guard fsync(sink.fd) == 0 else { throw PackWriter.failure("fsync", indexPath) }
    }

    private func append(_ bytes: [UInt8]) throws {
        if buffer.count + bytes.count > PackWriter.bufferSize { try flush() }
        if bytes.count > PackWriter.bufferSize {
            try write(bytes)
        } else {
            buffer += bytes
        }
    }

    private func flush() throws {
        try write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PackWriter.failure("write", packPath)
                }
                done += n
            }
        }
        flushed += bytes.count
    }

    /// A SHA-1 digest as an id (a pack is named by its checksum too).
    static func objectID(_ digest: [UInt8]) -> ObjectID {
        ObjectID(rawBytes: digest)!  // SHA-1 digests are 20 bytes
    }

    static func failure(_ function: String, _ path: String, code: Int32 = errno) -> GitError {
        .system(function: function, errno: code, message: "\(path): \(String(cString: strerror(code)))")
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
