#if canImport(Glibc)
import Glibc
#endif
import GitStore
import Posix

/// What a sync's transfer is about to write into git's refs:
/// `.git/coffer/transfer`, one `HEX REF` line each, written before libgit2
/// takes a ref's lock. REF is a tracking ref of this clone
/// (`refs/remotes/…`), or — for a remote on this machine, whose refs
/// libgit2's local transport writes from this very process — the absolute
/// path of the remote's branch (`/srv/vault.git/refs/heads/main`). libgit2 writes a ref by creating `REF.lock`, filling
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
        let text = refs.sorted { $0.key < $1.key }.map { "\($0.value.hex) \($0.key)\n" }.joined()
        try CloneFile.write(text, to: fileName, gitDirectory: gitDirectory, durable: false)
    }

    /// Removes the locks an interrupted transfer left on recorded refs, and
    /// the record. Call holding `lock`.
    static func recover(gitDirectory: String) throws {
        guard let text = try CloneFile.read(fileName, gitDirectory: gitDirectory) else { return }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let id = ObjectID(hex: parts[0]), let ref = TransferRecord.refFile(parts[1], gitDirectory: gitDirectory)
            else { continue }
            let lock = ref + ".lock"
            guard let held = try? Files.readRegularFile(path: lock, limit: 128) else { continue }
            if held.isEmpty || held == Array((id.hex + "\n").utf8) { unlink(lock) }
        }
        remove(gitDirectory: gitDirectory)
    }

    static func remove(gitDirectory: String) { unlink(gitDirectory + "/" + fileName) }

    /// The file of a recorded ref: a tracking ref of this clone, or a local
    /// remote's branch; nil for anything else (a record is never trusted
    /// to name other files).
    private static func refFile(_ ref: String, gitDirectory: String) -> String? {
        guard !ref.split(separator: "/").contains(".."), !ref.contains("\0") else { return nil }
        if ref.hasPrefix("refs/remotes/") { return gitDirectory + "/" + ref }
        if ref.hasPrefix("/"), ref.contains("/refs/heads/") { return ref }
        return nil
    }
}
