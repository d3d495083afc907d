#if canImport(Glibc)
import Glibc
#endif
import CGit2

/// Holds the objects a batch writes in memory, so the batch can store them
/// as one pack instead of one file (one new inode) each.
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
final class ObjectCapture {
    typealias Backend = UnsafeMutablePointer<git_odb_backend>
    typealias Write = @convention(c) (Backend?, UnsafePointer<git_oid>?, UnsafeRawPointer?, Int, git_object_t) -> Int32

    /// Above the loose (1) and pack (2) backends, so a batch's writes land here.
    private static let priority: Int32 = 100

    private let lib: LibGit2
    /// The repository's object database (a reference we own).
    let odb: OpaquePointer
    private let backend: Backend
    private let mempackWrite: Write
    /// Ids written since `start`, in write order.
    private var written: [ObjectID] = []

    init(lib: LibGit2, repository: OpaquePointer) throws {
        self.lib = lib
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
    }

    /// The odb owns and frees the backend.
    deinit { lib.odbFree(odb) }

    var isCapturing: Bool { backend.pointee.write != nil }

    /// From now on, objects this handle writes stay in memory.
    func start() {
        ObjectCapture.active.set(self, for: backend)
        backend.pointee.write = recordingWrite
    }

    /// Writes go to disk again; returns the ids captured since `start`. The
    /// objects stay readable in memory until `discard`.
    func stop() -> [ObjectID] {
        backend.pointee.write = nil
        ObjectCapture.active.set(nil, for: backend)
        defer { written = [] }
        return written
    }

    /// Frees the captured objects; only once they are stored elsewhere (or
    /// abandoned: nothing may refer to them then).
    func discard() {
        _ = lib.mempackReset(backend)
    }

    /// Called by libgit2 for each new object while capturing.
    fileprivate func record(_ backend: Backend, _ oid: UnsafePointer<git_oid>, _ data: UnsafeRawPointer?,
                            _ length: Int, _ type: git_object_t) -> Int32 {
        let rc = mempackWrite(backend, oid, data, length, type)
        if rc == 0 { written.append(ObjectID(oid.pointee)) }
        return rc
    }

    /// Which capture a backend belongs to, during its batch only. A C
    /// callback cannot capture context and mempack has no spare field; the
    /// lock is for handles batching on different threads at once.
    fileprivate static let active = Registry()

    fileprivate final class Registry: @unchecked Sendable {  // its state is under the mutex
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private var captures: [Backend: ObjectCapture] = [:]

        init() { pthread_mutex_init(mutex, nil) }

        func set(_ capture: ObjectCapture?, for backend: Backend) {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            captures[backend] = capture
        }

        func capture(for backend: Backend) -> ObjectCapture? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return captures[backend]
        }
    }
}

/// The `write` slot while capturing. Failing (unknown backend) cannot happen:
/// the slot is set only after the backend is registered.
private let recordingWrite: ObjectCapture.Write = { backend, oid, data, length, type in
    guard let backend, let oid, let capture = ObjectCapture.active.capture(for: backend) else { return -1 }
    return capture.record(backend, oid, data, length, type)
}
