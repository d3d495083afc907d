/// zlib's deflate and CRC-32 (`libz.so.1`, loaded on first use), for git's
/// file formats: objects are stored as zlib streams, and a pack index keeps
/// a CRC-32 of each packed object. Nothing here protects a secret: what it
/// compresses is already sealed (or is a tree, a commit, an index).
public enum Deflate {
    /// Favours speed: sealed files are random bytes that no level shrinks,
    /// and trees and commits are small. git reads any level.
    public static let fastest: Int32 = 1

    /// `bytes` as one zlib stream (RFC 1950: header, deflate, Adler-32), as
    /// a git object or pack entry holds it.
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32 = fastest) throws -> [UInt8] {
        let zlib = try Functions.shared.get()
        guard let source = bytes.baseAddress else {
            // zlib reads nothing from an empty source, but wants a pointer.
            var none: UInt8 = 0
            return try withUnsafeBytes(of: &none) { try compress(UnsafeRawBufferPointer(rebasing: $0[0..<0]), level: level) }
        }
        var capacity = zlib.compressBound(UInt(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let rc = output.withUnsafeMutableBufferPointer {
            zlib.compress2($0.baseAddress, &capacity, source.assumingMemoryBound(to: UInt8.self), UInt(bytes.count), level)
        }
        guard rc == 0 else { throw GitError.call(function: "compress2", code: rc, message: "zlib could not deflate") }
        output.removeSubrange(Int(capacity)...)
        return output
    }

    /// Continues the CRC-32 (zlib's, as git's pack index uses) `crc` over `bytes`; start from 0.
    public static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) throws -> UInt32 {
        let zlib = try Functions.shared.get()
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(truncatingIfNeeded: zlib.crc32(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// zlib's functions, typed by hand after its `zlib.h` (`uLong` is
    /// `unsigned long`, UInt on LP64 Linux; `z_size_t` is `size_t`).
    private final class Functions: @unchecked Sendable {  // immutable once loaded
        static let shared: Result<Functions, Error> = Result { try Functions() }

        let compress2: @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?, UnsafePointer<UInt8>?, UInt, Int32) -> Int32
        let compressBound: @convention(c) (UInt) -> UInt
        let crc32: @convention(c) (UInt, UnsafePointer<UInt8>?, Int) -> UInt

        private init() throws {
            let lib = try DynamicLibrary("libz.so.1", hint: "install zlib1g")
            compress2 = try lib.function("compress2", as: type(of: compress2))
            compressBound = try lib.function("compressBound", as: type(of: compressBound))
            crc32 = try lib.function("crc32_z", as: type(of: crc32))
        }
    }
}
