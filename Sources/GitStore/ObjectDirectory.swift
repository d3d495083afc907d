#if canImport(Glibc)
import Glibc
#endif
import Posix

/// A git object: its kind and its bytes (without git's "kind size\0" header).
struct RawObject {
    let kind: PackWriter.Kind
    let bytes: [UInt8]
}

/// `.git/objects` read and written without libgit2, so that a `set` (and
/// every command reading history) need not load libgit2 and its sixteen
/// libraries, ~3.5 ms of a 17 ms write on the reference machine.
///
/// Reads loose objects and version-2 packs (deltas resolved); every object
/// read is hashed and must match its name, as libgit2's strict verification
/// does. Writes loose objects, unflushed (the writer's one `syncfs` flushes
/// them before any ref names them), or, in a batch, holds them until the
/// batch ends and stores them then — loose, or as one pack when many (see
/// `GitRepository.withBatchedObjectSync`).
///
/// Used only for a repository it can read exactly as git does: one with no
/// alternates, grafts or shallow boundary (`open` answers nil, and libgit2
/// serves it). Not thread-safe; one per `GitRepository`.
final class ObjectDirectory {
    let path: String
    private let gitDirectory: String
    private var packs: [PackFile]?
    /// Trees and commits read, by name (a name's content never changes): a
    /// write reads HEAD's commit and the trees on its path several times.
    private var cache: [ObjectID: RawObject] = [:]
    private var cachedBytes = 0
    static let cacheLimit = 8 << 20
    /// One zlib stream for every loose object written (see `Deflate`).
    private lazy var deflate: Result<Deflate, Error> = Result { try Deflate() }
    /// The objects of the batch in progress, by id; nil between batches.
    private(set) var batch: Batch?
    private var failure: Error?

    final class Batch {
        var objects: [ObjectID: RawObject] = [:]
        /// Write order, for storing.
        var order: [ObjectID] = []
        /// The pack a large batch streams its blobs into (see `ObjectCapture`).
        var pack: PackWriter?
        var count: Int { order.count }
    }

    /// Nil when something git honours and this reader does not is present.
    static func open(gitDirectory: String) -> ObjectDirectory? {
        let objects = gitDirectory + "/objects"
        for unsupported in [objects + "/info/alternates", gitDirectory + "/shallow", objects + "/info/grafts", gitDirectory + "/info/grafts"]
        where Files.exists(unsupported) {
            return nil
        }
        return ObjectDirectory(path: objects, gitDirectory: gitDirectory)
    }

    private init(path: String, gitDirectory: String) {
        self.path = path
        self.gitDirectory = gitDirectory
    }

    // MARK: Reading

    /// The object named `id`, nil when there is none.
    func read(_ id: ObjectID, hops: Int = 0) throws -> RawObject? {
        if let batch {
            if let held = batch.objects[id] { return held }
            if let bytes = try batch.pack?.read(id) { return RawObject(kind: .blob, bytes: bytes) }
        }
        if let cached = cache[id] { return cached }
        guard let object = try readStored(id, hops: hops) else { return nil }
        if object.kind != .blob, cachedBytes + object.bytes.count <= ObjectDirectory.cacheLimit {
            cache[id] = object
            cachedBytes += object.bytes.count
        }
        return object
    }

    private func readStored(_ id: ObjectID, hops: Int) throws -> RawObject? {
        if let object = try readLoose(id) { return object }
        if let object = try readPacked(id, hops: hops, rescan: false) { return object }
        // Repacked meanwhile (`git gc` moves loose objects into a new pack,
        // then prunes them): look at the packs afresh, then loose again.
        if let object = try readPacked(id, hops: hops, rescan: true) { return object }
        return try readLoose(id)
    }

    /// The inflated size of `id` from its header alone (a size check before
    /// reading what a push may have made huge), nil when there is none.
    func size(of id: ObjectID) throws -> Int? {
        if let batch {
            if let held = batch.objects[id] { return held.bytes.count }
            if let size = batch.pack?.size(of: id) { return size }
        }
        if let cached = cache[id] { return cached.bytes.count }
        for rescan in [false, true] {
            if let compressed = try looseFile(id) {
                let start = try compressed.withUnsafeBytes { try Deflate.inflatePrefix($0, count: 64) }
                return try ObjectDirectory.header(start, in: loosePath(id)).size
            }
            for pack in try packList(rescan: rescan) {
                if let offset = pack.offset(of: id), Files.exists(pack.base + ".pack") { return try pack.size(at: offset) }
            }
        }
        return nil
    }

    /// True when `id` is stored, which it then freshens (its file's time
    /// set to now, as git and libgit2 do before reusing an object), so that
    /// a `git gc --prune` running meanwhile does not take it as old garbage.
    func freshen(_ id: ObjectID) -> Bool {
        if let batch, batch.objects[id] != nil || batch.pack?.size(of: id) != nil { return true }
        if utimensat(AT_FDCWD, loosePath(id), nil, 0) == 0 { return true }
        var gone = false
        for rescan in [false, true] where rescan == gone {
            guard let packs = try? packList(rescan: rescan) else { return false }
            // A pack gc removed stays mapped here: its object counts only
            // where a file still holds it (and the packs are listed afresh).
            for pack in packs where pack.offset(of: id) != nil {
                if utimensat(AT_FDCWD, pack.base + ".pack", nil, 0) == 0 { return true }
                gone = true
            }
        }
        // Not stored (or stored only in a pack made since, which a second copy, loose, does not harm).
        return false
    }

    private func loosePath(_ id: ObjectID) -> String {
        let hex = id.hex
        return path + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    /// Loose files larger than this are left to libgit2 (which streams them).
    static let looseLimit = 64 << 20

    /// A loose object's file, nil when there is none.
    private func looseFile(_ id: ObjectID) throws -> [UInt8]? {
        let file = loosePath(id)
        var info = stat()
        guard stat(file, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw GitError.systemCall("stat", path: file)
        }
        guard Int(info.st_size) <= ObjectDirectory.looseLimit else { throw NativeUnsupported(reason: "a loose object of \(info.st_size) bytes") }
        do {
            return try Files.readRegularFile(path: file, limit: ObjectDirectory.looseLimit)
        } catch {
            // Packed and pruned since the stat (`git gc`).
            if !Files.exists(file) { return nil }
            throw error
        }
    }

    private func readLoose(_ id: ObjectID) throws -> RawObject? {
        guard let compressed = try looseFile(id) else { return nil }
        let file = loosePath(id)
        // The header first, then exactly the size it states (no guessing, no zip bomb).
        let (kind, size, start) = try ObjectDirectory.header(compressed.withUnsafeBytes { try Deflate.inflatePrefix($0, count: 64) },
                                                             in: file)
        guard size <= PackFile.maxObjectSize else { throw NativeUnsupported(reason: "an object over \(PackFile.maxObjectSize) bytes") }
        let whole = try compressed.withUnsafeBytes { try Deflate.decompress($0, size: start + size) }
        let object = RawObject(kind: kind, bytes: Array(whole[start...]))
        try ObjectDirectory.verify(object, id, where: file)
        return object
    }

    /// A loose object's "kind size\0" header: its kind, size and where the content starts.
    private static func header(_ bytes: [UInt8], in file: String) throws -> (kind: PackWriter.Kind, size: Int, start: Int) {
        guard let space = bytes.prefix(32).firstIndex(of: UInt8(ascii: " ")), let nul = bytes[space...].prefix(24).firstIndex(of: 0),
              let kind = ObjectDirectory.kind(named: bytes[..<space]), nul > space + 1,
              bytes[(space + 1)..<nul].allSatisfy({ (0x30...0x39).contains($0) }),
              let size = Int(String(decoding: bytes[(space + 1)..<nul], as: UTF8.self))
        else { throw GitError.corruptObject("\(file): bad header") }
        return (kind, size, nul + 1)
    }

    private func readPacked(_ id: ObjectID, hops: Int, rescan: Bool) throws -> RawObject? {
        for pack in try packList(rescan: rescan) {
            // An index whose pack is gone (removed by gc since, or never
            // completed) names nothing, as for git.
            guard let offset = pack.offset(of: id), Files.exists(pack.base + ".pack") else { continue }
            let object = try pack.read(at: offset, store: self, hops: hops)
            try ObjectDirectory.verify(object, id, where: pack.base + ".pack")
            return object
        }
        return nil
    }

    private func packList(rescan: Bool) throws -> [PackFile] {
        if let packs, !rescan { return packs }
        let directory = path + "/pack"
        var found: [PackFile] = []
        for name in GitRepository.entries(of: directory).sorted() where name.hasPrefix("pack-") && name.hasSuffix(".idx") {
            let base = directory + "/" + name.dropLast(4)
            if let known = packs?.first(where: { $0.base == base }) {
                found.append(known)
                continue
            }
            guard let pack = try PackFile(base: base) else { throw NativeUnsupported(reason: "\(name) is not a version 2 index") }
            found.append(pack)
        }
        packs = found
        return found
    }

    /// The name's hash must be the content's: what git and libgit2's strict
    /// verification require of every object read.
    private static func verify(_ object: RawObject, _ id: ObjectID, where file: String) throws {
        let actual = object.bytes.withUnsafeBytes { PackWriter.id(of: object.kind, $0) }
        guard actual == id else { throw GitError.corruptObject("\(file): object \(id.hex) hashes to \(actual.hex)") }
    }

    static func kind<Name: Collection<UInt8>>(named name: Name) -> PackWriter.Kind? {
        for kind in [PackWriter.Kind.blob, .tree, .commit, .tag] where name.elementsEqual(kind.name.utf8) { return kind }
        return nil
    }

    // MARK: Writing

    /// Stores an object (in the batch, when one is running) and returns its name.
    func write(_ kind: PackWriter.Kind, _ bytes: [UInt8]) throws -> ObjectID {
        let id = bytes.withUnsafeBytes { PackWriter.id(of: kind, $0) }
        if let batch {
            guard batch.objects[id] == nil, batch.pack?.size(of: id) == nil else { return id }
            batch.order.append(id)
            if kind == .blob, let pack = batch.pack {
                try bytes.withUnsafeBytes { _ = try pack.add(.blob, $0) }
                return id
            }
            batch.objects[id] = RawObject(kind: kind, bytes: bytes)
            if batch.pack == nil, batch.count > GitRepository.packThreshold { try startStreaming(batch) }
            return id
        }
        if !freshen(id) { try writeLoose(id, RawObject(kind: kind, bytes: bytes)) }
        return id
    }

    /// Past the threshold a batch becomes a pack: its blobs go into one
    /// being written from now on, instead of staying in memory.
    private func startStreaming(_ batch: Batch) throws {
        let incoming = gitDirectory + "/coffer-incoming"
        GitRepository.removeDirectory(incoming)
        guard mkdir(incoming, 0o755) == 0 else { throw PackWriter.failure("mkdir", incoming) }
        let pack = try PackWriter(directory: incoming)
        for id in batch.order {
            guard let object = batch.objects[id], object.kind == .blob else { continue }
            try object.bytes.withUnsafeBytes { _ = try pack.add(.blob, $0) }
            batch.objects[id] = nil
        }
        batch.pack = pack
    }

    /// A loose object as git writes one: "kind size\0" and the bytes,
    /// deflated, into a temporary file git's `prune` also sweeps
    /// (`tmp_obj_*`), then renamed into place. Not flushed.
    private func writeLoose(_ id: ObjectID, _ object: RawObject) throws {
        let hex = id.hex
        let directory = path + "/" + hex.prefix(2)
        var whole = Array("\(object.kind.name) \(object.bytes.count)\0".utf8)
        whole += object.bytes
        let deflate = try deflate.get()
        let compressed = try whole.withUnsafeBytes { try deflate.compress($0) }
        let temporary: String
        do {
            temporary = try GitRepository.writeTemporary(compressed, in: directory, prefix: "tmp_obj_coffer_", mode: 0o444)
        } catch GitError.system(_, ENOENT, _) {
            // The fan-out directory, made on first use.
            if mkdir(directory, 0o755) != 0, errno != EEXIST { throw GitError.systemCall("mkdir", path: directory) }
            temporary = try GitRepository.writeTemporary(compressed, in: directory, prefix: "tmp_obj_coffer_", mode: 0o444)
        }
        guard rename(temporary, directory + "/" + hex.dropFirst(2)) == 0 else {
            let error = GitError.systemCall("rename", path: temporary)
            unlink(temporary)
            throw error
        }
    }

    // MARK: Batches

    func beginBatch() {
        precondition(batch == nil, "one batch at a time")
        batch = Batch()
    }

    /// Ends the batch, dropping what it held (a failed batch: nothing names
    /// its objects). `failure`: why, when storing it failed, for the batch's
    /// caller to throw (see `takeFailure`).
    func discardBatch(failure: Error? = nil) {
        batch = nil
        self.failure = failure
        GitRepository.removeDirectory(gitDirectory + "/coffer-incoming")
    }

    /// Why the last batch could not be stored, once.
    func takeFailure() -> Error? {
        defer { failure = nil }
        return failure
    }

    /// Ends the batch and stores its objects: as one pack when it streamed
    /// (returned finished, for the caller to install), else loose.
    func endBatch() throws -> PackWriter.Finished? {
        guard let batch else { return nil }
        self.batch = nil
        if let pack = batch.pack {
            // Newest first (commit, trees), after the streamed blobs.
            for id in batch.order.reversed() {
                guard let object = batch.objects[id] else { continue }
                try object.bytes.withUnsafeBytes { _ = try pack.add(object.kind, $0) }
            }
            return try pack.finish()
        }
        for id in batch.order where !freshen(id) {
            try writeLoose(id, batch.objects[id]!)
        }
        return nil
    }

    /// Forgets the packs seen, so the next read lists them again.
    func refreshPacks() { packs = nil }
}

/// Something this reader leaves to libgit2 (an old pack index, a config
/// include): the repository loads libgit2 and asks it instead.
struct NativeUnsupported: Error {
    let reason: String
}
