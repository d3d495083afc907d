#if canImport(Glibc)
import Glibc
#endif
import GitStore
import Posix

/// What a sync's transfer is about to write into git's tracking refs:
/// `.git/coffer/transfer`, one `REF HEX` line each, written before libgit2
/// takes a ref's lock. libgit2 writes a ref by creating `REF.lock`, filling
/// it with the new id and renaming it into place; a `kill -9` in between
/// leaves the lock, and every later fetch of that ref fails on it.
///
/// The record is the proof that such a lock is coffer's own, under the
/// transfer lock (which proves no other coffer transfer runs): a lock on a
/// recorded ref that is empty (killed before writing) or holds exactly the
/// recorded id is removed; any other lock is someone else's and stays (the
/// fetch's error then names it), as `VaultTransaction.recover` treats git's
/// index and branch locks.
enum TransferRecord {
    static let fileName = "coffer/transfer"

    /// The lock serialising transfers of this clone (`sync`), across
    /// processes: a `flock` on the `.git` directory itself (git and libgit2
    /// take none there), so a sync refused before it transfers anything
    /// leaves no file behind.
    static func lock(gitDirectory: String, timeout: Double) throws -> DirectoryLock {
        do {
            return try DirectoryLock(path: gitDirectory, timeout: timeout, isDirectory: true)
        } catch FileError.busy(_, let seconds) {
            throw VaultError.locked(waitedSeconds: seconds)
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// Records that `refs` are about to be set (replacing any earlier record).
    static func write(_ refs: [String: ObjectID], gitDirectory: String) throws {
        let text = refs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.hex)\n" }.joined()
        try CloneFile.write(text, to: fileName, gitDirectory: gitDirectory, durable: false)
    }

    /// Removes the locks an interrupted transfer left on recorded refs, and
    /// the record. Call holding `lock`.
    static func recover(gitDirectory: String) throws {
        guard let text = try CloneFile.read(fileName, gitDirectory: gitDirectory) else { return }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 2, parts[0].hasPrefix("refs/remotes/"), !parts[0].split(separator: "/").contains(".."),
                  let id = ObjectID(hex: parts[1]) else { continue }
            let lock = gitDirectory + "/" + parts[0] + ".lock"
            guard let held = try? Files.readRegularFile(path: lock, limit: 128) else { continue }
            if held.isEmpty || held == Array((id.hex + "\n").utf8) { unlink(lock) }
        }
        remove(gitDirectory: gitDirectory)
    }

    static func remove(gitDirectory: String) { unlink(gitDirectory + "/" + fileName) }
}
