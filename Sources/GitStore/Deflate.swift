#if canImport(Glibc)
import Glibc
#endif
import CGit2

/// zlib's deflate, inflate and CRC-32 (`libz.so.1`, loaded on first use;
/// only its types come from `zlib.h`), for git's file formats: objects are stored as
/// zlib streams, and a pack index keeps a CRC-32 of each packed object.
/// Nothing here protects a secret: what it compresses is already sealed
/// (or is a tree, a commit, an index).
///
/// One stream is reused for every object (reset, not re-allocated): zlib
/// sets up ~256 KiB of state per stream, which would otherwise cost more
/// than compressing a sealed file of a few hundred bytes. Not thread-safe.
public final class Deflate {
    /// Favours speed: trees and commits are small. git reads any level.
    public static let fastest: Int32 = 1
    /// No compression ("stored" blocks, 5 bytes a 64 KiB): for sealed files,
    /// random bytes but for a short base64 header, where building Huffman
    /// trees (~40 µs a small object, most of a re-wrap's pack time) would
    /// save a fifth of the header at most.
    public static let stored: Int32 = 0
    /// zlib's default hash (`memLevel` 8) for what is compressed: a 20 KB
    /// tree takes 0.15 ms with it and 0.9 ms with the smallest (1); clearing
    /// it on each reset costs a few microseconds. Stored blocks search
    /// nothing, so they take the smallest.
    private static func memoryLevel(for level: Int32) -> Int32 { level == stored ? 1 : 8 }

    private let zlib: Functions
    private var stream = z_stream()

    public init(level: Int32 = fastest) throws {
        zlib = try Functions.shared.get()
        let rc = zlib.deflateInit2(&stream, level, Z_DEFLATED, MAX_WBITS, Deflate.memoryLevel(for: level), Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GitError.call(function: "deflateInit2", code: rc, message: "zlib could not start") }
    }

    deinit { _ = zlib.deflateEnd(&stream) }

    /// `bytes` as one zlib stream (RFC 1950: header, deflate, Adler-32), as
    /// a git object or pack entry holds it.
    public func compress(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard zlib.deflateReset(&stream) == Z_OK else {
            throw GitError.call(function: "deflateReset", code: Z_STREAM_ERROR, message: "zlib stream unusable")
        }
        let capacity = Int(zlib.deflateBound(&stream, UInt(bytes.count)))
        var output = [UInt8](repeating: 0, count: capacity)
        var none: UInt8 = 0
        let rc = output.withUnsafeMutableBufferPointer { out in
            withUnsafeMutablePointer(to: &none) { empty in
                // zlib wants a pointer even for no input; it reads none.
                stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(empty))
                stream.avail_in = UInt32(bytes.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(capacity)
                // deflateBound's room lets one Z_FINISH call complete.
                return zlib.deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw GitError.call(function: "deflate", code: rc, message: "zlib could not deflate") }
        output.removeSubrange(Int(stream.total_out)...)
        stream.next_in = nil
        stream.next_out = nil
        return output
    }

    /// The `size` bytes a zlib stream holds (an object read back from a
    /// pack being written).
    public static func decompress(_ stream: UnsafeRawBufferPointer, size: Int) throws -> [UInt8] {
        let zlib = try Functions.shared.get()
        var output = [UInt8](repeating: 0, count: max(size, 1))
        var length = UInt(output.count)
        let rc = output.withUnsafeMutableBufferPointer {
            zlib.uncompress($0.baseAddress, &length, stream.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(stream.count))
        }
        guard rc == Z_OK, Int(length) == size else {
            throw GitError.call(function: "uncompress", code: rc, message: "zlib could not inflate")
        }
        output.removeSubrange(size...)
        return output
    }

    /// The first `count` bytes a zlib stream inflates to (fewer if it ends
    /// first): a loose object's header, a delta's sizes.
    public static func inflatePrefix(_ stream: UnsafeRawBufferPointer, count: Int) throws -> [UInt8] {
        let zlib = try Functions.shared.get()
        var z = z_stream()
        guard zlib.inflateInit(&z, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GitError.call(function: "inflateInit", code: Z_STREAM_ERROR, message: "zlib could not start")
        }
        defer { _ = zlib.inflateEnd(&z) }
        var output = [UInt8](repeating: 0, count: count)
        let rc = output.withUnsafeMutableBufferPointer { out in
            z.next_in = UnsafeMutablePointer(mutating: stream.baseAddress?.assumingMemoryBound(to: UInt8.self))
            z.avail_in = UInt32(min(stream.count, Int(UInt32.max)))
            z.next_out = out.baseAddress
            z.avail_out = UInt32(count)
            return zlib.inflate(&z, Z_SYNC_FLUSH)
        }
        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR && z.avail_out == 0 else {
            throw GitError.call(function: "inflate", code: rc, message: "zlib could not inflate")
        }
        output.removeSubrange((count - Int(z.avail_out))...)
        z.next_in = nil
        z.next_out = nil
        return output
    }

    /// Continues the CRC-32 (zlib's, as git's pack index uses) `crc` over `bytes`; start from 0.
    public static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) throws -> UInt32 {
        let zlib = try Functions.shared.get()
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(truncatingIfNeeded: zlib.crc32(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// zlib's functions, typed by hand after `zlib.h` (`uLong` is
    /// `unsigned long`, UInt on LP64 Linux; `z_size_t` is `size_t`).
    private final class Functions: @unchecked Sendable {  // immutable once loaded
        static let shared: Result<Functions, Error> = Result { try Functions() }

        typealias Stream = UnsafeMutablePointer<z_stream>
        let deflateInit2: @convention(c) (Stream?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<CChar>?, Int32) -> Int32
        let deflateReset: @convention(c) (Stream?) -> Int32
        let deflateBound: @convention(c) (Stream?, UInt) -> UInt
        let deflate: @convention(c) (Stream?, Int32) -> Int32
        let deflateEnd: @convention(c) (Stream?) -> Int32
        let crc32: @convention(c) (UInt, UnsafePointer<UInt8>?, Int) -> UInt
        let inflateInit: @convention(c) (Stream?, UnsafePointer<CChar>?, Int32) -> Int32
        let inflate: @convention(c) (Stream?, Int32) -> Int32
        let inflateEnd: @convention(c) (Stream?) -> Int32
        let uncompress: @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?, UnsafePointer<UInt8>?, UInt) -> Int32

        private init() throws {
            let zlib = try GitDependency("zlib", soname: "libz.so.1", package: "zlib1g")
            deflateInit2 = try zlib.symbol("deflateInit2_", as: type(of: deflateInit2))
            deflateReset = try zlib.symbol("deflateReset", as: type(of: deflateReset))
            deflateBound = try zlib.symbol("deflateBound", as: type(of: deflateBound))
            deflate = try zlib.symbol("deflate", as: type(of: deflate))
            deflateEnd = try zlib.symbol("deflateEnd", as: type(of: deflateEnd))
            crc32 = try zlib.symbol("crc32_z", as: type(of: crc32))
            uncompress = try zlib.symbol("uncompress", as: type(of: uncompress))
            inflateInit = try zlib.symbol("inflateInit_", as: type(of: inflateInit))
            inflate = try zlib.symbol("inflate", as: type(of: inflate))
            inflateEnd = try zlib.symbol("inflateEnd", as: type(of: inflateEnd))
        }
    }
}
