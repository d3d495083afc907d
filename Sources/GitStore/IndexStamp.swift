#if canImport(Glibc)
import Glibc
#endif

/// What coffer knows of the index it last wrote: the file's identity and
/// times (`lstat`) and its trailing checksum, in `.git/coffer-index-stamp`.
///
/// Why: checking an index's SHA-1 reads every byte (about 0.5 ms for ten
/// thousand entries), and a `set` would check the index it wrote itself a
/// moment before. An index that still has the inode, size, mtime, ctime
/// and checksum recorded when coffer wrote it is the file coffer checked
/// then: git replaces the index by renaming a new file over it, and no
/// user can set a ctime. Any other index — git's, a stale or torn stamp, a
/// copied repository — is checked in full, as before. git's own
/// `index.skipHash` (2.40) skips the check outright; this only skips it for
/// a file whose bytes coffer produced.
enum IndexStamp {
    static func path(gitDirectory: String) -> String { gitDirectory + "/coffer-index-stamp" }

    /// True when `info` (the index's lstat) and its `checksum` are what
    /// the stamp records.
    static func matches(gitDirectory: String, info: stat, checksum: ArraySlice<UInt8>) -> Bool {
        let fd = open(path(gitDirectory: gitDirectory), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        return buffer[..<count].elementsEqual(record(info, checksum: checksum))
    }

    /// Records the index now in place (after coffer renamed its own onto
    /// it), whose last 20 bytes are `checksum`. Best effort and unflushed:
    /// a stamp lost or torn in a crash only means one full check.
    static func write(gitDirectory: String, checksum: ArraySlice<UInt8>) {
        var info = stat()
        guard lstat(gitDirectory + "/index", &info) == 0 else { return }
        let fd = open(path(gitDirectory: gitDirectory), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // Always the same length, written in place: a rename over the old
        // stamp would make ext4 write it back at once (see AuditHead).
        let bytes = record(info, checksum: checksum)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// One line of fixed width: every field 20 digits, the checksum in hex.
    private static func record(_ info: stat, checksum: ArraySlice<UInt8>) -> [UInt8] {
        let fields = [UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_size),
                      UInt64(bitPattern: Int64(info.st_mtim.tv_sec)), UInt64(info.st_mtim.tv_nsec),
                      UInt64(bitPattern: Int64(info.st_ctim.tv_sec)), UInt64(info.st_ctim.tv_nsec)]
        var line = Array("coffer-index-stamp 1".utf8)
        for field in fields {
            let digits = Array(String(field).utf8)
            line.append(UInt8(ascii: " "))
            line += [UInt8](repeating: UInt8(ascii: "0"), count: 20 - digits.count) + digits
        }
        line += Array((" " + (ObjectID(rawBytes: checksum)?.hex ?? "-") + "\n").utf8)
        return line
    }
}
