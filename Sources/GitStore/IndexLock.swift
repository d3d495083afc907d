#if canImport(Glibc)
import Glibc
#endif
import Posix

/// `.git/index.lock`, held by coffer across its commit and index update.
///
/// git takes this lock (create-exclusive, never waiting) before it reads the
/// index to change it, so while coffer holds it no `git add` or `git commit`
/// can write an index that lacks coffer's commit, and a git already running
/// is waited for rather than overwritten. The file holds a random token that
/// coffer's journal records: after a crash, recovery removes the lock only
/// when it holds that token, so a live git's lock is never deleted. Only
/// `release()` removes it, never deinit: a lock kept after a failed index
/// write keeps git from committing that index until recovery finishes it.
public final class IndexLock {
    /// The lock file, `<git directory>/index.lock`.
    public let path: String
    /// What the lock file holds (hex, no newline); the journal records it.
    public let token: String
    /// True until `release()`.
    public private(set) var isHeld = true

    /// How often a busy lock is looked at again: git holds it for
    /// milliseconds to seconds, and a look costs one link(2).
    static let pollInterval: useconds_t = 20_000

    public static func path(gitDirectory: String) -> String { gitDirectory + "/index.lock" }

    /// Takes the lock, waiting up to `timeout` seconds while another process
    /// holds it; then throws `FileError.busy` naming the lock file. A lock
    /// that already holds `token` is one this owner took before a crash and
    /// is adopted.
    public init(gitDirectory: String, token: String, timeout: Double) throws {
        precondition(!token.isEmpty && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "a lock token is one printable word")
        self.token = token
        path = IndexLock.path(gitDirectory: gitDirectory)
        let content = Array((token + "\n").utf8)
        // The token goes into a temporary file that is hard-linked into place:
        // link(2) fails if the lock exists, as O_EXCL does, and the lock never
        // exists without its token (a kill between an O_EXCL create and the
        // write would leave an empty lock that no journal could claim).
        let staged = try IndexLock.stage(content, in: gitDirectory, for: path)
        defer { unlink(staged) }
        let start = IndexLock.now()
        while true {
            if link(staged, path) == 0 { return }
            let code = errno
            switch code {
            case EEXIST:
                if IndexLock.holds(path, content) { return }
            case EPERM, EOPNOTSUPP, EMLINK, ENOSYS:
                // A file system without hard links: git's own way, O_EXCL.
                if try IndexLock.createExclusive(path, content) { return }
                if IndexLock.holds(path, content) { return }
            default:
                throw FileError.write(path: path, errno: code)
            }
            let waited = IndexLock.now() - start
            guard waited < timeout else { throw FileError.busy(path: path, waitedSeconds: Int(timeout.rounded(.up))) }
            usleep(IndexLock.pollInterval)
        }
    }

    /// True when the lock file at `gitDirectory` holds `token` (it is that
    /// owner's); false when it is absent or anyone else's.
    public static func isHeld(gitDirectory: String, token: String) -> Bool {
        holds(path(gitDirectory: gitDirectory), Array((token + "\n").utf8))
    }

    /// Removes the lock file if it still holds this token; never someone else's.
    public func release() {
        guard isHeld else { return }
        isHeld = false
        if IndexLock.holds(path, Array((token + "\n").utf8)) { unlink(path) }
    }

    /// Removes the lock file at `gitDirectory` if it holds `token` (a lock a
    /// crashed owner left); returns whether it did.
    @discardableResult
    public static func removeIfHeld(gitDirectory: String, token: String) -> Bool {
        let path = path(gitDirectory: gitDirectory)
        guard holds(path, Array((token + "\n").utf8)) else { return false }
        return unlink(path) == 0
    }

    /// A lock file is a small regular file; read without following a link or
    /// blocking on a FIFO. A real index being written there is far larger.
    static func holds(_ path: String, _ content: [UInt8]) -> Bool {
        (try? Files.readRegularFile(path: path, limit: content.count)) == content
    }

    private static func stage(_ content: [UInt8], in directory: String, for path: String) throws -> String {
        var template = (directory + "/.coffer-tmp-lock-XXXXXX").utf8CString.map { $0 }
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw FileError.write(path: path, errno: errno) }
        let staged = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let sink = FileDescriptorSink(fd: fd, name: staged, owned: true)
        do {
            try content.withUnsafeBytes { try sink.write($0) }
        } catch {
            unlink(staged)
            throw error
        }
        return staged
    }

    /// False when the file exists already.
    private static func createExclusive(_ path: String, _ content: [UInt8]) throws -> Bool {
        let sink: FileDescriptorSink
        do {
            sink = try FileDescriptorSink(path: path, mode: 0o666, exclusive: true)
        } catch FileError.exists {
            return false
        }
        try content.withUnsafeBytes { try sink.write($0) }
        return true
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
