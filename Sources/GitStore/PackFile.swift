#if canImport(Glibc)
import Glibc
#endif
import Posix

/// One pack of `objects/pack` read without libgit2: its version-2 index
/// (`gitformat-pack(5)`) to find an object's offset, the pack to inflate it,
/// deltas (`OFS_DELTA`, `REF_DELTA`) applied to their bases. Both files are
/// mapped, not read: a lookup touches the fan-out, a few ids and the entry.
///
/// Everything is bounds-checked: a truncated or hostile pack is an error
/// (`GitError.corruptObject`), never a read past the mapping.
final class PackFile {
    /// The base path, `…/objects/pack/pack-<hash>` without extension.
    let base: String
    private let index: MappedFile
    /// Mapped on first read: an existence check (a write's, for each new
    /// object) needs only the index.
    private var mappedPack: MappedFile?
    private var pack: MappedFile {
        get throws {
            if let mappedPack { return mappedPack }
            let file = try MappedFile(path: base + ".pack")
            guard file.count >= 32, file.bytes[0..<4].elementsEqual(Array("PACK".utf8)),
                  [2, 3].contains(PackFile.uint32(file.bytes, 4)) else {
                throw GitError.corruptObject("\(base).pack: not a version 2 or 3 pack")
            }
            mappedPack = file
            return file
        }
    }
    private let count: Int
    private let idsStart = 8 + 256 * 4

    /// Longer delta chains than git ever writes (its default depth is 50,
    /// `--depth` at most 4095) are left to libgit2.
    static let maxDeltaDepth = 10_000

    /// Nil when the index is not version 2 (libgit2 reads the rest).
    init?(base: String) throws {
        self.base = base
        index = try MappedFile(path: base + ".idx")
        guard index.count >= idsStart + 40, index.bytes[0..<4].elementsEqual([0xff, 0x74, 0x4f, 0x63]),
              PackFile.uint32(index.bytes, 4) == 2 else { return nil }
        count = Int(PackFile.uint32(index.bytes, 8 + 255 * 4))
        guard index.count >= idsStart + count * 28 + 40 else { throw GitError.corruptObject("\(base).idx: truncated") }
    }

    /// Every id the index lists, in its (sorted) order.
    var ids: [ObjectID] {
        (0..<count).map { ObjectID(rawBytes: index.bytes[(idsStart + $0 * 20)..<(idsStart + $0 * 20 + 20)])! }
    }

    /// The offset of `id` in the pack, nil when this pack lacks it.
    func offset(of id: ObjectID) -> Int? {
        let bytes = index.bytes
        let first = Int(id.bytes[0])
        var low = first == 0 ? 0 : Int(PackFile.uint32(bytes, 8 + (first - 1) * 4))
        var high = Int(PackFile.uint32(bytes, 8 + first * 4))
        guard low <= high, high <= count else { return nil }
        while low < high {
            let middle = (low + high) / 2
            let at = idsStart + middle * 20
            let order = PackFile.compare(bytes, at, id.bytes)
            if order == 0 { return entryOffset(middle) }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    private func entryOffset(_ position: Int) -> Int? {
        let offsets = idsStart + count * 24
        let small = PackFile.uint32(index.bytes, offsets + position * 4)
        guard small & 0x8000_0000 != 0 else { return Int(small) }
        let at = offsets + count * 4 + Int(small & 0x7fff_ffff) * 8
        guard at + 8 <= index.count - 40 else { return nil }
        return Int(PackFile.uint32(index.bytes, at)) << 32 | Int(PackFile.uint32(index.bytes, at + 4))
    }

    /// Objects larger than this are left to libgit2 (which streams them).
    static let maxObjectSize = 256 << 20
    /// Cross-pack `REF_DELTA` hops followed (git and libgit2's fetch write
    /// self-contained packs; only a hand-made pair of packs has any).
    static let maxPackHops = 16

    /// An entry's header: its type (1–4 whole, 6 offset delta, 7 reference
    /// delta), its inflated size, where its zlib stream starts, its base.
    private struct EntryHeader {
        let type: UInt8
        let size: Int
        let data: Int
        let baseOffset: Int?
        let baseID: ObjectID?
    }

    private func header(at offset: Int) throws -> EntryHeader {
        let pack = try pack
        let bytes = pack.bytes
        let end = pack.count - 20
        var at = offset
        func next() throws -> UInt8 {
            guard at < end, at >= 12 else { throw GitError.corruptObject("\(base).pack: entry out of bounds") }
            defer { at += 1 }
            return bytes[at]
        }
        var byte = try next()
        let type = (byte >> 4) & 7
        var size = Int(byte & 0x0f)
        var shift = 4
        while byte & 0x80 != 0 {
            byte = try next()
            guard shift < 57 else { throw GitError.corruptObject("\(base).pack: entry size too large") }
            size |= Int(byte & 0x7f) << shift
            shift += 7
        }
        var baseOffset: Int?, baseID: ObjectID?
        switch type {
        case 1...4:
            break
        case 6:
            byte = try next()
            var distance = Int(byte & 0x7f)
            while byte & 0x80 != 0 {
                byte = try next()
                guard distance < 1 << 48 else { throw GitError.corruptObject("\(base).pack: delta offset too large") }
                distance = ((distance + 1) << 7) | Int(byte & 0x7f)
            }
            guard distance > 0, distance <= offset else { throw GitError.corruptObject("\(base).pack: delta base out of bounds") }
            baseOffset = offset - distance
        case 7:
            guard at + 20 <= end, let id = ObjectID(rawBytes: bytes[at..<(at + 20)]) else {
                throw GitError.corruptObject("\(base).pack: entry out of bounds")
            }
            at += 20
            baseID = id
        default:
            throw GitError.corruptObject("\(base).pack: entry of type \(type)")
        }
        // zlib inflates at most ~1032 bytes from one: a larger size is a lie.
        guard size <= PackFile.maxObjectSize else { throw NativeUnsupported(reason: "an object over \(PackFile.maxObjectSize) bytes") }
        guard at < end, size <= (end - at) * 1032 + 64 else { throw GitError.corruptObject("\(base).pack: entry size past its data") }
        return EntryHeader(type: type, size: size, data: at, baseOffset: baseOffset, baseID: baseID)
    }

    /// Resolved objects at the offsets of recent delta chains, so reading
    /// every object of a chain (as a consolidation does) stays linear.
    private var resolved: [Int: RawObject] = [:]
    private var resolvedBytes = 0
    private static let resolvedLimit = 16 << 20

    /// The object at `offset`, deltas resolved — iteratively, down the
    /// chain to a whole object, then up (a `REF_DELTA` base outside this
    /// pack through `store`, `hops` packs deep so far).
    func read(at offset: Int, store: ObjectDirectory, hops: Int = 0) throws -> RawObject {
        var chain: [(offset: Int, header: EntryHeader)] = []
        var at = offset
        var object: RawObject
        while true {
            if let known = resolved[at] {
                object = known
                break
            }
            guard chain.count < PackFile.maxDeltaDepth else { throw NativeUnsupported(reason: "a delta chain over \(PackFile.maxDeltaDepth)") }
            let header = try header(at: at)
            if header.type <= 4 {
                object = RawObject(kind: PackWriter.Kind(rawValue: header.type)!, bytes: try inflate(from: header.data, size: header.size))
                break
            }
            chain.append((at, header))
            if let baseOffset = header.baseOffset {
                at = baseOffset
            } else if let id = header.baseID, let inPack = self.offset(of: id) {
                at = inPack
            } else {
                guard hops < PackFile.maxPackHops else { throw NativeUnsupported(reason: "a delta base many packs away") }
                guard let id = header.baseID, let base = try store.read(id, hops: hops + 1) else {
                    throw GitError.corruptObject("\(base).pack: delta base \(header.baseID?.hex ?? "?") missing")
                }
                object = base
                break
            }
        }
        for (entryOffset, header) in chain.reversed() {
            object = RawObject(kind: object.kind, bytes: try Delta.apply(try inflate(from: header.data, size: header.size), to: object.bytes))
            if resolvedBytes + object.bytes.count > PackFile.resolvedLimit {
                resolved = [:]
                resolvedBytes = 0
            }
            resolved[entryOffset] = object
            resolvedBytes += object.bytes.count
        }
        return object
    }

    /// The inflated size of the object at `offset` (a delta's result size
    /// read from the start of its data), without inflating it whole.
    func size(at offset: Int) throws -> Int {
        let header = try header(at: offset)
        guard header.type > 4 else { return header.size }
        let pack = try pack
        let end = pack.count - 20
        let start = try Deflate.inflatePrefix(UnsafeRawBufferPointer(rebasing: pack.bytes[header.data..<end]), count: 20)
        return try Delta.sizes(start).result
    }

    private func inflate(from at: Int, size: Int) throws -> [UInt8] {
        let pack = try pack
        let end = pack.count - 20
        guard at < end else { throw GitError.corruptObject("\(base).pack: entry out of bounds") }
        return try Deflate.decompress(UnsafeRawBufferPointer(rebasing: pack.bytes[at..<end]), size: size)
    }

    static func uint32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    private static func compare(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ id: [UInt8]) -> Int {
        for i in 0..<20 where bytes[at + i] != id[i] { return bytes[at + i] < id[i] ? -1 : 1 }
        return 0
    }
}

/// git's delta format: the base's size and the result's (little-endian
/// base-128), then instructions — copy a range of the base, or insert the
/// bytes that follow.
enum Delta {
    /// The base's and the result's sizes a delta starts with, and where its instructions begin.
    static func sizes(_ delta: [UInt8]) throws -> (base: Int, result: Int, instructions: Int) {
        var at = 0
        func size() throws -> Int {
            var value = 0, shift = 0, byte: UInt8
            repeat {
                guard at < delta.count else { throw GitError.corruptObject("delta truncated") }
                byte = delta[at]
                at += 1
                guard shift < 57 else { throw GitError.corruptObject("delta size too large") }
                value |= Int(byte & 0x7f) << shift
                shift += 7
            } while byte & 0x80 != 0
            return value
        }
        let base = try size()
        return (base, try size(), at)
    }

    static func apply(_ delta: [UInt8], to base: [UInt8]) throws -> [UInt8] {
        let (baseSize, length, start) = try sizes(delta)
        guard baseSize == base.count else { throw GitError.corruptObject("delta base size mismatch") }
        // Each instruction byte copies at most the whole base, or inserts one byte.
        guard length <= (delta.count - start) * max(base.count, 1) else { throw GitError.corruptObject("delta result size past its instructions") }
        var at = start
        func next() throws -> UInt8 {
            guard at < delta.count else { throw GitError.corruptObject("delta truncated") }
            defer { at += 1 }
            return delta[at]
        }
        var result: [UInt8] = []
        result.reserveCapacity(length)
        while at < delta.count {
            let op = try next()
            if op & 0x80 != 0 {
                var offset = 0, count = 0
                for bit in 0..<4 where op & (1 << bit) != 0 { offset |= Int(try next()) << (8 * bit) }
                for bit in 0..<3 where op & (0x10 << bit) != 0 { count |= Int(try next()) << (8 * bit) }
                if count == 0 { count = 0x10000 }
                guard offset + count <= base.count, result.count + count <= length else {
                    throw GitError.corruptObject("delta copy out of bounds")
                }
                result += base[offset..<(offset + count)]
            } else if op != 0 {
                let count = Int(op)
                guard at + count <= delta.count, result.count + count <= length else {
                    throw GitError.corruptObject("delta insert out of bounds")
                }
                result += delta[at..<(at + count)]
                at += count
            } else {
                throw GitError.corruptObject("delta opcode 0")
            }
        }
        guard result.count == length else { throw GitError.corruptObject("delta result size mismatch") }
        return result
    }
}

/// A file mapped read-only, unmapped in deinit.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    var count: Int { bytes.count }

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GitError.systemCall("open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GitError.systemCall("fstat", path: path) }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw GitError.systemCall("mmap", path: path) }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
