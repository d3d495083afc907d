#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

extension GitRepository {
    /// A batch that writes more objects than this stores them as one pack.
    /// Smaller ones stay loose, like single writes: every pack is one more
    /// index that each lookup searches until `git gc` merges them, so a pack
    /// per small change would slow reads more and more, while a few loose
    /// objects are cheap (each costs a new inode, ~300 µs on ext4 here).
    static let packThreshold = 64

    /// Runs `body` (which may write many objects) and makes every object it
    /// wrote durable before returning — before any ref can point at them —
    /// without paying one fsync and one new file per object.
    ///
    /// The objects are held in memory while `body` runs (readable through
    /// this handle only), then stored: more than `packThreshold` as one pack
    /// and index in objects/pack, flushed before they get their names; fewer as
    /// loose objects written without fsync, then flushed with one `syncfs`.
    /// If `body` throws or storing fails, the objects are dropped: nothing
    /// refers to them yet. A nested call joins the outer batch.
    ///
    /// With `flushingLoose` false, loose objects are left for the caller's
    /// own flush, which must come before any ref names them: a commit then
    /// pays one barrier for its objects and its journal (see VaultTransaction).
    public func withBatchedObjectSync<R>(flushingLoose: Bool = true, _ body: () throws -> R) throws -> R {
        let capture = try objectCapture()
        if capture.isCapturing { return try body() }
        capture.start()
        let result: R
        do {
            result = try body()
        } catch {
            _ = capture.stop()
            capture.discard()
            throw error
        }
        let ids = capture.stop()
        defer { capture.discard() }
        if ids.count > GitRepository.packThreshold {
            try writePack(ids, odb: capture.odb)
        } else {
            try writeLoose(ids, from: capture, flushing: flushingLoose)
        }
        return result
    }

    private func objectCapture() throws -> ObjectCapture {
        if let batchCapture { return batchCapture }
        let capture = try withHandle { try ObjectCapture(lib: lib, repository: $0) }
        batchCapture = capture
        return capture
    }

    /// Stores the captured objects `ids` as one new pack and index, then
    /// makes this handle's pack backend pick the pack up (before the objects
    /// leave memory).
    ///
    /// libgit2 fsyncs only under a process-wide switch, which one vault must
    /// not flip under another, so it stays off and durability is ours: the
    /// pack is built in `.git/coffer-incoming`, flushed, and only then given
    /// its place (index last, as git finds a pack by its index) and flushed
    /// again. A crash leaves at most that folder, which the next batch clears.
    private func writePack(_ ids: [ObjectID], odb: OpaquePointer) throws {
        let incoming = gitDirectory + "/coffer-incoming"
        GitRepository.removeDirectory(incoming)
        defer { GitRepository.removeDirectory(incoming) }
        guard mkdir(incoming, 0o755) == 0 else { throw GitError.call(function: "mkdir", code: errno, message: incoming) }
        let builder = try withHandle { repo in try lib.make("git_packbuilder_new") { lib.packbuilderNew($0, repo) } }
        defer { lib.packbuilderFree(builder) }
        _ = lib.packbuilderSetThreads(builder, 0)  // one per core
        // Inserted one by one: insert_commit or insert_tree would add the
        // whole tree, unchanged objects already stored included. Newest
        // first (commit, trees, blobs), as libgit2 asks for a good pack.
        for id in ids.reversed() {
            try lib.check(id.withOID { lib.packbuilderInsert(builder, $0, nil) }, "git_packbuilder_insert")
        }
        try lib.check(lib.packbuilderWrite(builder, incoming, 0, nil, nil), "git_packbuilder_write")
        try FileSystemSync.sync(incoming)
        let names = GitRepository.entries(of: incoming).filter { $0.hasPrefix("pack-") }
        for name in names.filter({ !$0.hasSuffix(".idx") }) + names.filter({ $0.hasSuffix(".idx") }) {
            let target = gitDirectory + "/objects/pack/" + name
            guard rename(incoming + "/" + name, target) == 0 else { throw GitError.call(function: "rename", code: errno, message: target) }
        }
        try FileSystemSync.sync(gitDirectory)
        try lib.check(lib.odbRefresh(odb), "git_odb_refresh")
    }

    private static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func removeDirectory(_ directory: String) {
        for name in entries(of: directory) { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// Stores the captured objects `ids` as loose objects, each written
    /// without an fsync, then all flushed with one `syncfs` (when `flushing`).
    private func writeLoose(_ ids: [ObjectID], from capture: ObjectCapture, flushing: Bool) throws {
        guard !ids.isEmpty else { return }
        var objects: [OpaquePointer] = []
        defer { objects.forEach { lib.odbObjectFree($0) } }
        for id in ids {
            objects.append(try id.withOID { oid in try lib.make("git_odb_read") { lib.odbRead($0, capture.odb, oid) } })
        }
        // While the capture holds an object, writing it again is a no-op.
        capture.discard()
        for object in objects {
            var oid = git_oid()
            let rc = lib.odbWrite(&oid, capture.odb, lib.odbObjectData(object), lib.odbObjectSize(object), lib.odbObjectType(object))
            try lib.check(rc, "git_odb_write")
        }
        if flushing { try FileSystemSync.sync(gitDirectory) }
    }
}
