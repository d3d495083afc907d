#if canImport(Glibc)
import Glibc
#endif
import CGit2

/// Holds the objects a batch writes until the batch stores them, as one
/// pack (or, for a few, as loose objects) instead of one file (one new
/// inode) each.
///
/// It is libgit2's in-memory backend ("mempack") added in front of the
/// repository's object database, once per handle: libgit2 1.5 cannot remove
/// a backend again. Between batches its `write` slot is NULL, which makes
/// the odb skip it for writes (they go to the loose backend as before);
/// reads ask it first, an empty hash lookup. During a batch the slot holds
/// `recordingWrite`, which notes each id and hands the object on to
/// mempack's own write: mempack cannot list what it holds, and noting ids at
/// the odb rather than in writeBlob, TreeBuilder… means that no way of
/// writing an object can be missed and then lost in `discard`.
///
/// Once a batch has written more than `GitRepository.packThreshold`
/// objects it will be stored as a pack, so its further blobs — the bulk of
/// a re-key, thousands of sealed files — are streamed into that pack as
/// they come (`PackWriter`, in `.git/coffer-incoming`) instead of being
/// held in memory; the batch's `read`, `read_header` and `exists` slots
/// answer for them from the pack being written, and give everything else to
/// mempack. Trees and the commit stay in mempack until the pack is finished.
final class ObjectCapture {
    typealias Backend = UnsafeMutablePointer<git_odb_backend>
    typealias OID = UnsafePointer<git_oid>
    typealias Write = @convention(c) (Backend?, OID?, UnsafeRawPointer?, Int, git_object_t) -> Int32
    typealias Read = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<Int>?,
                                     UnsafeMutablePointer<git_object_t>?, Backend?, OID?) -> Int32
    typealias ReadHeader = @convention(c) (UnsafeMutablePointer<Int>?, UnsafeMutablePointer<git_object_t>?, Backend?, OID?) -> Int32
    typealias Exists = @convention(c) (Backend?, OID?) -> Int32

    /// Above the loose (1) and pack (2) backends, so a batch's writes land here.
    private static let priority: Int32 = 100

    private let lib: LibGit2
    /// The repository's object database (a reference we own).
    let odb: OpaquePointer
    /// Where a large batch's pack is built.
    let incoming: String
    private let backend: Backend
    private let mempackWrite: Write
    private let mempack: (read: Read?, readHeader: ReadHeader?, exists: Exists?)
    /// Ids written since `start`, in write order.
    private var written: [ObjectID] = []
    /// The pack a large batch streams its blobs into, and their sizes.
    private(set) var pack: PackWriter?
    private var streamed: Set<ObjectID> = []
    /// Why streaming an object failed (libgit2 only learns that it did).
    private(set) var failure: Error?

    init(lib: LibGit2, repository: OpaquePointer, gitDirectory: String) throws {
        self.lib = lib
        incoming = gitDirectory + "/coffer-incoming"
        var created: Backend?
        try lib.check(lib.mempackNew(&created), "git_mempack_new")
        guard let backend = created, let write = backend.pointee.write else {
            throw GitError.call(function: "git_mempack_new", code: -1, message: "returned no backend")
        }
        backend.pointee.write = nil
        let odb: OpaquePointer
        do {
            odb = try lib.make("git_repository_odb") { lib.repositoryODB($0, repository) }
        } catch {
            backend.pointee.free?(backend)
            throw error
        }
        do {
            try lib.check(lib.odbAddBackend(odb, backend, ObjectCapture.priority), "git_odb_add_backend")
        } catch {
            backend.pointee.free?(backend)
            lib.odbFree(odb)
            throw error
        }
        self.odb = odb
        self.backend = backend
        mempackWrite = write
        mempack = (backend.pointee.read, backend.pointee.read_header, backend.pointee.exists)
    }

    /// The odb owns and frees the backend.
    deinit { lib.odbFree(odb) }

    var isCapturing: Bool { backend.pointee.write != nil }

    /// From now on, objects this handle writes stay in memory (or stream into a pack).
    func start() {
        ObjectCapture.active.set(self, for: backend)
        backend.pointee.write = recordingWrite
        backend.pointee.read = streamingRead
        backend.pointee.read_header = streamingReadHeader
        backend.pointee.exists = streamingExists
    }

    /// Writes go to disk again; returns the ids captured since `start`. The
    /// objects stay readable (those in mempack) until `discard`; the streamed
    /// ones are in `pack`, to be finished.
    func stop() -> [ObjectID] {
        backend.pointee.write = nil
        (backend.pointee.read, backend.pointee.read_header, backend.pointee.exists) = mempack
        ObjectCapture.active.set(nil, for: backend)
        defer { written = [] }
        return written
    }

    /// Whether `id` went into `pack` rather than mempack.
    func isStreamed(_ id: ObjectID) -> Bool { streamed.contains(id) }

    /// Frees the captured objects and drops an unfinished pack; only once
    /// they are stored elsewhere (or abandoned: nothing may refer to them then).
    func discard() {
        _ = lib.mempackReset(backend)
        pack = nil
        streamed = []
        failure = nil
    }

    /// Called by libgit2 for each new object while capturing.
    fileprivate func record(_ backend: Backend, _ oid: OID, _ data: UnsafeRawPointer?, _ length: Int, _ type: git_object_t) -> Int32 {
        let id = ObjectID(oid.pointee)
        if type == GIT_OBJECT_BLOB, written.count >= GitRepository.packThreshold {
            do {
                let writer = try pack ?? startPack()
                let added = try writer.add(.blob, UnsafeRawBufferPointer(start: data, count: length))
                guard added == id else {
                    throw GitError.call(function: "PackWriter.add", code: -1, message: "\(id) hashed to \(added)")
                }
                streamed.insert(id)
                written.append(id)
                return 0
            } catch {
                failure = error
                return -1
            }
        }
        let rc = mempackWrite(backend, oid, data, length, type)
        if rc == 0 { written.append(id) }
        return rc
    }

    private func startPack() throws -> PackWriter {
        GitRepository.removeDirectory(incoming)
        guard mkdir(incoming, 0o755) == 0 else { throw PackWriter.failure("mkdir", incoming) }
        let writer = try PackWriter(directory: incoming)
        pack = writer
        return writer
    }

    fileprivate func read(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ length: UnsafeMutablePointer<Int>?,
                          _ type: UnsafeMutablePointer<git_object_t>?, _ backend: Backend, _ oid: OID) -> Int32 {
        let id = ObjectID(oid.pointee)
        guard streamed.contains(id), let pack else { return mempack.read?(out, length, type, backend, oid) ?? GIT_ENOTFOUND.rawValue }
        do {
            guard let bytes = try pack.read(id), let buffer = lib.odbBackendDataAlloc(backend, max(bytes.count, 1)) else { return -1 }
            bytes.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: $0.count) } }
            out?.pointee = buffer
            length?.pointee = bytes.count
            type?.pointee = GIT_OBJECT_BLOB
            return 0
        } catch {
            failure = error
            return -1
        }
    }

    fileprivate func readHeader(_ length: UnsafeMutablePointer<Int>?, _ type: UnsafeMutablePointer<git_object_t>?,
                                _ backend: Backend, _ oid: OID) -> Int32 {
        let id = ObjectID(oid.pointee)
        guard streamed.contains(id), let size = pack?.size(of: id) else {
            return mempack.readHeader?(length, type, backend, oid) ?? GIT_ENOTFOUND.rawValue
        }
        length?.pointee = size
        type?.pointee = GIT_OBJECT_BLOB
        return 0
    }

    fileprivate func exists(_ backend: Backend, _ oid: OID) -> Int32 {
        streamed.contains(ObjectID(oid.pointee)) ? 1 : mempack.exists?(backend, oid) ?? 0
    }

    /// Which capture a backend belongs to, during its batch only. A C
    /// callback cannot capture context and mempack has no spare field; the
    /// lock is for handles batching on different threads at once.
    fileprivate static let active = Registry()

    fileprivate final class Registry: @unchecked Sendable {  // its state is under the mutex
        private struct Entry {
            let backend: Backend
            let capture: ObjectCapture
        }

        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        // One per batch running (one per thread at most): a list, not a
        // dictionary, whose key type would cost every write a conformance scan.
        private var captures: [Entry] = []

        init() { pthread_mutex_init(mutex, nil) }

        func set(_ capture: ObjectCapture?, for backend: Backend) {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            captures.removeAll { $0.backend == backend }
            if let capture { captures.append(Entry(backend: backend, capture: capture)) }
        }

        func capture(for backend: Backend) -> ObjectCapture? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return captures.first { $0.backend == backend }?.capture
        }
    }
}

// The slots while capturing. Failing (unknown backend) cannot happen: the
// slots are set only after the backend is registered.
private let recordingWrite: ObjectCapture.Write = { backend, oid, data, length, type in
    guard let backend, let oid, let capture = ObjectCapture.active.capture(for: backend) else { return -1 }
    return capture.record(backend, oid, data, length, type)
}

private let streamingRead: ObjectCapture.Read = { out, length, type, backend, oid in
    guard let backend, let oid, let capture = ObjectCapture.active.capture(for: backend) else { return -1 }
    return capture.read(out, length, type, backend, oid)
}

private let streamingReadHeader: ObjectCapture.ReadHeader = { length, type, backend, oid in
    guard let backend, let oid, let capture = ObjectCapture.active.capture(for: backend) else { return -1 }
    return capture.readHeader(length, type, backend, oid)
}

private let streamingExists: ObjectCapture.Exists = { backend, oid in
    guard let backend, let oid, let capture = ObjectCapture.active.capture(for: backend) else { return 0 }
    return capture.exists(backend, oid)
}
