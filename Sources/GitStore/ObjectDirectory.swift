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
    func read(_ id: ObjectID, depth: Int = 0) throws -> RawObject? {
        if let batch {
            if let held = batch.objects[id] { return held }
            if let bytes = try batch.pack?.read(id) { return RawObject(kind: .blob, bytes: bytes) }
        }
        if let cached = cache[id] { return cached }
        guard let object = try readStored(id, depth: depth) else { return nil }
        if object.kind != .blob, cachedBytes + object.bytes.count <= ObjectDirectory.cacheLimit {
            cache[id] = object
            cachedBytes += object.bytes.count
        }
        return object
    }

    private func readStored(_ id: ObjectID, depth: Int) throws -> RawObject? {
        if let object = try readLoose(id) { return object }
        if let object = try readPacked(id, depth: depth, rescan: false) { return object }
        // Repacked meanwhile (`git gc` moves loose objects into a new pack,
        // then prunes them): look at the packs afresh, then loose again.
        if let object = try readPacked(id, depth: depth, rescan: true) { return object }
        return try readLoose(id)
    }

    func contains(_ id: ObjectID) -> Bool {
        if let batch, batch.objects[id] != nil || batch.pack?.size(of: id) != nil { return true }
        if Files.exists(loosePath(id)) { return true }
        return (try? packList(rescan: false).contains { $0.offset(of: id) != nil }) ?? false
    }

    private func loosePath(_ id: ObjectID) -> String {
        let hex = id.hex
        return path + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    /// Loose objects larger than this are left to libgit2's streaming reads.
    static let looseLimit = 1 << 30

    private func readLoose(_ id: ObjectID) throws -> RawObject? {
        let file = loosePath(id)
        let compressed: [UInt8]
        do {
            compressed = try Files.read(path: file)
        } catch {
            if errno == ENOENT || !Files.exists(file) { return nil }
            throw error
        }
        let whole = try compressed.withUnsafeBytes { try Deflate.inflate($0, limit: ObjectDirectory.looseLimit) }
        guard let space = whole.firstIndex(of: UInt8(ascii: " ")), let nul = whole[space...].firstIndex(of: 0),
              let kind = ObjectDirectory.kind(named: whole[..<space]),
              let size = Int(String(decoding: whole[(space + 1)..<nul], as: UTF8.self)), size == whole.count - nul - 1
        else { throw GitError.corruptObject("\(file): bad header") }
        let object = RawObject(kind: kind, bytes: Array(whole[(nul + 1)...]))
        try ObjectDirectory.verify(object, id, where: file)
        return object
    }

    private func readPacked(_ id: ObjectID, depth: Int, rescan: Bool) throws -> RawObject? {
        for pack in try packList(rescan: rescan) {
            guard let offset = pack.offset(of: id) else { continue }
            let object = try pack.read(at: offset, store: self, depth: depth)
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
            guard Files.exists(base + ".pack") else { continue }
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
        if !contains(id) { try writeLoose(id, RawObject(kind: kind, bytes: bytes)) }
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
        if mkdir(directory, 0o755) != 0, errno != EEXIST { throw GitError.systemCall("mkdir", path: directory) }
        var whole = Array("\(object.kind.name) \(object.bytes.count)\0".utf8)
        whole += object.bytes
        let deflate = try deflate.get()
        let compressed = try whole.withUnsafeBytes { try deflate.compress($0) }
        var template = Array((directory + "/tmp_obj_coffer_XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw GitError.systemCall("mkstemp", path: directory) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        let written = compressed.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let failure = errno
        fchmod(fd, 0o444)
        close(fd)
        guard written == compressed.count else {
            errno = written < 0 ? failure : ENOSPC
            throw GitError.systemCall("write", path: temporary)
        }
        guard rename(temporary, directory + "/" + hex.dropFirst(2)) == 0 else { throw GitError.systemCall("rename", path: temporary) }
        renamed = true
    }

    // MARK: Batches

    func beginBatch() {
        precondition(batch == nil, "one batch at a time")
        batch = Batch()
    }

    /// Ends the batch, dropping what it held (a failed batch: nothing names its objects).
    func discardBatch() {
        batch = nil
        GitRepository.removeDirectory(gitDirectory + "/coffer-incoming")
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
        for id in batch.order where !contains(id) {
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
