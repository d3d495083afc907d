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
    /// this handle only; past `packThreshold`, blobs stream into the pack
    /// being built instead, see `ObjectCapture`), then stored: more than
    /// `packThreshold` as one pack and index in objects/pack, flushed before
    /// they get their names; fewer as loose objects written without fsync,
    /// then flushed with one `syncfs`.
    /// If `body` throws or storing fails, the objects are dropped: nothing
    /// refers to them yet. A nested call joins the outer batch.
    ///
    /// With `flushingLoose` false, loose objects are left for the caller's
    /// own flush, which must come before any ref names them: a commit then
    /// pays one barrier for its objects and its journal (see VaultTransaction).
    public func withBatchedObjectSync<R>(flushingLoose: Bool = true, _ body: () throws -> R) throws -> R {
        if let native {
            if native.batch != nil { return try body() }
            return try withNativeBatch(native, flushingLoose: flushingLoose, body)
        }
        let capture = try objectCapture()
        if capture.isCapturing { return try body() }
        capture.start()
        let result: R
        do {
            result = try body()
        } catch {
            _ = capture.stop()
            // A failed write of a streamed blob reaches libgit2 as a bare -1.
            let failure = capture.failure ?? error
            capture.discard()
            throw failure
        }
        let ids = capture.stop()
        defer { capture.discard() }
        if ids.count > GitRepository.packThreshold {
            try writePack(ids, capture: capture)
            // Maintenance, once the batch's objects are safe: a failure
            // leaves the packs as they were, for the next large batch.
            _ = try? consolidatePacks()
            capture.discard()
            MemoryTrim.releaseFreePages()
        } else {
            try writeLoose(ids, from: capture, flushing: flushingLoose)
        }
        return result
    }

    /// The same batch held by the native object store. Should libgit2 be
    /// loaded meanwhile (something the native side declined), the batch is
    /// stored at that moment (see `handle`) and the rest written as libgit2
    /// writes single objects; the flush at the end covers both.
    private func withNativeBatch<R>(_ native: ObjectDirectory, flushingLoose: Bool, _ body: () throws -> R) throws -> R {
        native.beginBatch()
        let result: R
        do {
            result = try body()
        } catch {
            native.discardBatch()
            throw error
        }
        // Stored when libgit2 was loaded meanwhile, or failing then, dropped:
        // the body may have gone on past that failure (a `try?`).
        if let failure = native.takeFailure() { throw failure }
        guard native.batch != nil else {
            if flushingLoose { try FileSystemSync.sync(gitDirectory) }
            return result
        }
        do {
            if let pack = try native.endBatch() {
                defer { GitRepository.removeDirectory(gitDirectory + "/coffer-incoming") }
                try install(pack)
                try refreshPacks()
                _ = try? consolidatePacks()
                MemoryTrim.releaseFreePages()
            } else if flushingLoose {
                try FileSystemSync.sync(gitDirectory)
            }
        } catch {
            native.discardBatch()
            throw error
        }
        return result
    }

    private func objectCapture() throws -> ObjectCapture {
        if let batchCapture { return batchCapture }
        let lib = try lib
        let capture = try withHandle { try ObjectCapture(lib: lib, repository: $0, gitDirectory: gitDirectory) }
        batchCapture = capture
        return capture
    }

    /// Stores the captured objects `ids` as one new pack and index (our own
    /// `PackWriter`: streamed, no delta search) — the pack the capture
    /// streamed the batch's blobs into, completed with what mempack holds —
    /// then makes this handle's pack backend pick the pack up (before the
    /// objects leave memory).
    ///
    /// libgit2 fsyncs only under a process-wide switch, which one vault must
    /// not flip under another, so it stays off and durability is ours: the
    /// pack is built in `.git/coffer-incoming`, each file flushed, and only
    /// then given its place in `objects/pack` — the pack first, its index
    /// last, as git does, since git finds a pack by its index — and the
    /// directory flushed. A crash leaves at most that folder, which recovery
    /// and the next batch clear, or a pack without its index, which no
    /// reader sees and the sweep removes (`removeStalePackFiles`).
    private func writePack(_ ids: [ObjectID], capture: ObjectCapture) throws {
        let lib = try lib
        defer { GitRepository.removeDirectory(capture.incoming) }
        let writer: PackWriter
        if let streaming = capture.pack {
            writer = streaming
        } else {
            GitRepository.removeDirectory(capture.incoming)
            guard mkdir(capture.incoming, 0o755) == 0 else { throw PackWriter.failure("mkdir", capture.incoming) }
            writer = try PackWriter(directory: capture.incoming)
        }
        let odb = capture.odb
        // Newest first (commit, trees, blobs), the order git writes.
        for id in ids.reversed() where !capture.isStreamed(id) {
            let object = try id.withOID { oid in try lib.make("git_odb_read") { lib.odbRead($0, odb, oid) } }
            defer { lib.odbObjectFree(object) }
            guard let kind = PackWriter.Kind(rawValue: UInt8(truncatingIfNeeded: lib.odbObjectType(object))) else {
                throw GitError.call(function: "git_odb_read", code: -1, message: "\(id): not a commit, tree, blob or tag")
            }
            let data = UnsafeRawBufferPointer(start: lib.odbObjectData(object), count: lib.odbObjectSize(object))
            let written = try writer.add(kind, data)
            guard written == id else { throw GitError.call(function: "PackWriter.add", code: -1, message: "\(id) hashed to \(written)") }
        }
        try install(writer.finish())
        try lib.check(lib.odbRefresh(odb), "git_odb_refresh")
    }

    /// Moves a finished pack into `objects/pack`, index last, and flushes the directory.
    func install(_ pack: PackWriter.Finished) throws {
        let directory = gitDirectory + "/objects/pack"
        for (from, to) in [(pack.packPath, pack.name + ".pack"), (pack.indexPath, pack.name + ".idx")] {
            guard rename(from, directory + "/" + to) == 0 else { throw PackWriter.failure("rename", directory + "/" + to) }
        }
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PackWriter.failure("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw PackWriter.failure("fsync", directory) }
    }

    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func removeDirectory(_ directory: String) {
        for name in entries(of: directory) { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// Stores the captured objects `ids` as loose objects, each written
    /// without an fsync, then all flushed with one `syncfs` (when `flushing`).
    private func writeLoose(_ ids: [ObjectID], from capture: ObjectCapture, flushing: Bool) throws {
        let lib = try lib
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
