#if canImport(Glibc)
import Glibc
#endif
import Posix

/// This user's local audit log: `audit.log`, one JSON line per reveal or
/// change, each carrying the SHA-256 of the line before it, and
/// `audit.head`, the line count and last hash, replaced atomically after
/// every append, so that lines cut off the end are noticed too.
///
/// What it proves is limited: its owner (or root) can rewrite both files
/// consistently. It shows what happened on this machine to someone who
/// trusts its owner, and catches accidental or careless edits; it is no
/// defence against the user it records. Appends are serialized by a lock
/// on the log, so concurrent coffer processes keep one chain.
public struct AuditLog: Sendable {
    /// The directory holding both files (`$XDG_STATE_HOME/coffer`).
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The user's log in `directory`, unless the settings at `settingsPath`
    /// turn auditing off (nil then): what every front end opens a vault with.
    public static func forUser(settingsPath: String, directory: String) throws -> AuditLog? {
        try UserSettings.load(from: settingsPath).audit ? AuditLog(directory: directory) : nil
    }

    public var logPath: String { directory + "/audit.log" }
    public var headPath: String { directory + "/audit.head" }

    /// Appends `event`. Throws when the line cannot be written; a reveal
    /// must then not happen (fail closed).
    public func record(_ event: AuditEvent) throws {
        let (fd, size) = try openForAppending()
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw AuditError.unwritable(path: logPath, reason: String(cString: strerror(errno))) }
        var end = try chainEnd(fd: fd, size: size)
        let line = AuditLine.encode(event, sequence: end.lines + 1, previous: end.last)
        // One write with O_APPEND: a line is added whole or (disk full) cut
        // short, never interleaved with another's; the next append ends a
        // cut line, so `verify` names it and the chain goes on after it.
        try append(Array((line + "\n").utf8), to: fd)
        end.lines += 1
        end.bytes += line.utf8.count + 1
        end.last = AuditLine.hash(line.utf8)
        try end.write(to: headPath)
    }

    /// Fails unless a line could be appended now: the log opens for
    /// appending (not a directory in its place, not a read-only file
    /// system) and its head is one coffer wrote.
    func checkWritable() throws {
        close(try openForAppending().fd)
        _ = try AuditHead.read(from: headPath)
    }

    /// The log, opened to append (made 0600 in a 0700 directory if new),
    /// and its size.
    private func openForAppending() throws -> (fd: Int32, size: Int) {
        var fd = open(logPath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        // Its directories are made the first time only: every reveal opens the log.
        if fd < 0, errno == ENOENT {
            do {
                try Files.makeDirectories(directory, mode: 0o700)
            } catch {
                throw AuditError.unwritable(path: directory, reason: "\(error)")
            }
            fd = open(logPath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard fd >= 0 else { throw AuditError.unwritable(path: logPath, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw AuditError.unwritable(path: logPath, reason: "not a regular file")
        }
        return (fd, Int(info.st_size))
    }

    /// Where the next line chains on (the caller holds the lock). A log
    /// shorter than the head says lost lines: the chain goes on from the
    /// head, so `verify` names the cut. Otherwise from what is on disk:
    /// lines past the head (written before a crash kept the head from
    /// following) are counted and chained on, and a line cut short is
    /// ended first, so it stands alone as one bad line.
    private func chainEnd(fd: Int32, size: Int) throws -> AuditHead {
        let head = try AuditHead.read(from: headPath) ?? AuditHead(lines: 0, bytes: 0, last: AuditLine.genesis)
        guard size > head.bytes else { return head }
        var tail = [UInt8](repeating: 0, count: size - head.bytes)
        let got = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(head.bytes)) }
        guard got == tail.count else { throw AuditError.unreadable(path: logPath, reason: got < 0 ? String(cString: strerror(errno)) : "short read") }
        var end = AuditHead(lines: head.lines, bytes: size, last: head.last)
        if tail.last != UInt8(ascii: "\n") {
            try append([UInt8(ascii: "\n")], to: fd)
            tail.append(UInt8(ascii: "\n"))
            end.bytes += 1
        }
        for line in tail.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            end.lines += 1
            end.last = AuditLine.hash(line)
        }
        return end
    }

    private func append(_ bytes: [UInt8], to fd: Int32) throws {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw AuditError.unwritable(path: logPath, reason: written < 0 ? String(cString: strerror(errno)) : "short write")
        }
    }

    /// The log's lines, without newlines (an unterminated last line included).
    func readLines() throws -> [ArraySlice<UInt8>] {
        let bytes: [UInt8]
        do { bytes = try Files.read(path: logPath) } catch FileError.open(_, ENOENT) { return [] }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}

/// Why an event could not be recorded or the log not read; paths and
/// errno text only.
public enum AuditError: Error, Equatable, Sendable, CustomStringConvertible {
    case unwritable(path: String, reason: String)
    case unreadable(path: String, reason: String)
    case malformedHead(path: String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): return "cannot write the audit log \(FileError.shown(path)): \(reason)"
        case .unreadable(let path, let reason): return "cannot read the audit log \(FileError.shown(path)): \(reason)"
        case .malformedHead(let path): return "the audit log's head \(FileError.shown(path)) is not one coffer wrote"
        }
    }
}
