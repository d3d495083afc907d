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
    private let pack: MappedFile
    private let count: Int
    private let idsStart = 8 + 256 * 4

    /// Longer delta chains than git ever writes (its default depth is 50,
    /// `--depth` at most 4095) are refused: one could only be made to
    /// exhaust the stack.
    static let maxDeltaDepth = 10_000

    /// Nil when the index is not version 2 (libgit2 reads the rest).
    init?(base: String) throws {
        self.base = base
        index = try MappedFile(path: base + ".idx")
        guard index.count >= idsStart + 40, index.bytes[0..<4].elementsEqual([0xff, 0x74, 0x4f, 0x63]),
              PackFile.uint32(index.bytes, 4) == 2 else { return nil }
        count = Int(PackFile.uint32(index.bytes, 8 + 255 * 4))
        guard index.count >= idsStart + count * 28 + 40 else { throw GitError.corruptObject("\(base).idx: truncated") }
        pack = try MappedFile(path: base + ".pack")
        guard pack.count >= 32, pack.bytes[0..<4].elementsEqual(Array("PACK".utf8)),
              [2, 3].contains(PackFile.uint32(pack.bytes, 4)) else {
            throw GitError.corruptObject("\(base).pack: not a version 2 or 3 pack")
        }
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

    /// The object at `offset`, deltas resolved (a `REF_DELTA` base outside
    /// this pack through `store`).
    func read(at offset: Int, store: ObjectDirectory, depth: Int = 0) throws -> RawObject {
        guard depth < PackFile.maxDeltaDepth else { throw GitError.corruptObject("\(base).pack: delta chain too long") }
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
        switch type {
        case 1...4:
            return RawObject(kind: PackWriter.Kind(rawValue: type)!, bytes: try inflate(from: at, size: size))
        case 6:
            byte = try next()
            var distance = Int(byte & 0x7f)
            while byte & 0x80 != 0 {
                byte = try next()
                guard distance < 1 << 48 else { throw GitError.corruptObject("\(base).pack: delta offset too large") }
                distance = ((distance + 1) << 7) | Int(byte & 0x7f)
            }
            guard distance > 0, distance <= offset else { throw GitError.corruptObject("\(base).pack: delta base out of bounds") }
            let base = try read(at: offset - distance, store: store, depth: depth + 1)
            return RawObject(kind: base.kind, bytes: try Delta.apply(try inflate(from: at, size: size), to: base.bytes))
        case 7:
            guard at + 20 <= end, let id = ObjectID(rawBytes: bytes[at..<(at + 20)]) else {
                throw GitError.corruptObject("\(base).pack: entry out of bounds")
            }
            at += 20
            let base = try self.offset(of: id).map { try read(at: $0, store: store, depth: depth + 1) }
                ?? store.read(id, depth: depth + 1)
            guard let base else { throw GitError.corruptObject("\(self.base).pack: delta base \(id.hex) missing") }
            return RawObject(kind: base.kind, bytes: try Delta.apply(try inflate(from: at, size: size), to: base.bytes))
        default:
            throw GitError.corruptObject("\(base).pack: entry of type \(type)")
        }
    }

    private func inflate(from at: Int, size: Int) throws -> [UInt8] {
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
    static func apply(_ delta: [UInt8], to base: [UInt8]) throws -> [UInt8] {
        var at = 0
        func next() throws -> UInt8 {
            guard at < delta.count else { throw GitError.corruptObject("delta truncated") }
            defer { at += 1 }
            return delta[at]
        }
        func size() throws -> Int {
            var value = 0, shift = 0, byte: UInt8
            repeat {
                byte = try next()
                guard shift < 57 else { throw GitError.corruptObject("delta size too large") }
                value |= Int(byte & 0x7f) << shift
                shift += 7
            } while byte & 0x80 != 0
            return value
        }
        guard try size() == base.count else { throw GitError.corruptObject("delta base size mismatch") }
        let length = try size()
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
