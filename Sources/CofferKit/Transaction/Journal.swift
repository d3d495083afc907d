#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// The record of a write in flight: `.git/coffer-journal`, written (and
/// fsynced) before HEAD moves and removed once the work tree and index match
/// the new commit. If a crash leaves it behind, HEAD tells which side of the
/// commit point the crash hit: at `new`, the work-tree update is redone from
/// the committed blobs; anywhere else, nothing had reached the work tree.
///
/// It also names the token coffer writes into the `.git/index.lock` it takes
/// (`index-lock TOKEN`), the only proof recovery accepts that a lock left
/// behind is coffer's own; journals from before it lack the line.
struct Journal: Equatable {
    static let fileName = "coffer-journal"

    var old: ObjectID?
    var new: ObjectID
    var changes: [TreeChange]
    var indexLockToken: String?

    static func exists(gitDirectory: String) -> Bool { Files.exists(gitDirectory + "/" + fileName) }

    /// Writes the journal atomically. `durable` false leaves the flush to the
    /// caller, who must make it before acting on the journal (a lock or a ref).
    func write(gitDirectory: String, durable: Bool = true) throws {
        var text = "old \(old?.hex ?? "-")\nnew \(new.hex)\n"
        if let indexLockToken { text += "index-lock \(indexLockToken)\n" }
        for change in changes {
            switch change {
            case .write(let path, let blob): text += "write \(blob.hex) \(path)\n"
            case .delete(let path): text += "delete - \(path)\n"
            }
        }
        let file = try AtomicFileSink(path: gitDirectory + "/" + Journal.fileName, durable: durable)
        try file.write(text)
        try file.commit()
    }

    static func read(gitDirectory: String) throws -> Journal? {
        let path = gitDirectory + "/" + fileName
        let text = String(decoding: try Files.read(path: path), as: UTF8.self)
        var old: ObjectID?, new: ObjectID?, token: String?
        var changes: [TreeChange] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            switch (parts.first, parts.count) {
            case ("old", 2): old = ObjectID(hex: parts[1])
            case ("new", 2): new = ObjectID(hex: parts[1])
            case ("index-lock", 2): token = Journal.isToken(parts[1]) ? parts[1] : nil
            case ("write", 3):
                guard Journal.isVaultPath(parts[2]), let blob = ObjectID(hex: parts[1]) else { return nil }
                changes.append(.write(path: parts[2], blob: blob))
            case ("delete", 3):
                guard Journal.isVaultPath(parts[2]) else { return nil }
                changes.append(.delete(path: parts[2]))
            default: continue
            }
        }
        // A journal torn before its fsync completed was never acted on.
        guard let new else { return nil }
        return Journal(old: old, new: new, changes: changes, indexLockToken: token)
    }

    /// Only paths coffer itself writes: sealed files and scope files. A journal
    /// naming anything else (`../x`, `.git/hooks/…`) is not acted on.
    static func isVaultPath(_ path: String) -> Bool {
        if SecretID(relativePath: path) != nil || path == Attributes.fileName || path == ImportRecords.fileName
            || path == SignersFile.fileName { return true }
        guard path.hasSuffix(RecipientsFile.fileName) else { return false }
        let dir = path.dropLast(RecipientsFile.fileName.count)
        return dir.isEmpty || (dir.hasSuffix("/") && (try? SecretID(String(dir.dropLast()))) != nil)
    }

    /// A fresh token for the index lock of one write: 16 random bytes, so no
    /// other process's lock file can hold it by chance.
    static func newIndexLockToken() -> String { RandomBytes.hex(count: 16) }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func remove(gitDirectory: String) {
        unlink(gitDirectory + "/" + fileName)
    }
}
