#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Dispatch
import Posix
import Synchronization

/// The vault behind the API. Operations run off SwiftNIO's event loops on
/// two serial queues, lanes: writes (and histories, the dearest reads) on
/// one, every other read on the other, so that a commit never holds up a
/// masked get. Within a lane a vault is used from one thread at a time;
/// across lanes they are two vaults, as a `coffer get` beside a `coffer
/// set` is, and writes take the vault's lock as the CLI's do. Each request
/// opens its own `Vault` (a stat or two), so the audit log names its token
/// and what another process changed on disk is seen at once.
///
/// Nothing is decrypted until a request asks. The id list is cached and
/// rebuilt when a directory holding ids changes (a `coffer set`, a `git
/// pull`); version numbers and histories are cached per HEAD.
final class VaultService: @unchecked Sendable {
    enum Lane { case read, write }

    let root: String
    let readOnly: Bool
    private let access: ServeAccess
    private let log: ServerLog
    private let queues = (read: DispatchQueue(label: "coffer-serve.read"), write: DispatchQueue(label: "coffer-serve.write"))
    /// Nil when read-only. Touched on the write lane only.
    let idempotency: IdempotencyStore?
    /// For reading the token list, one per lane.
    private let bases: (read: Vault, write: Vault)
    private let caches = Mutex(Caches())

    struct Caches {
        var listing: Listing?
        var versions: (head: String?, numbers: [SecretID: Int]) = (nil, [:])
        /// Each id's history as of HEAD: walking it is the dearest read there is.
        var histories: (head: String?, versions: [SecretID: [SecretVersion]]) = (nil, [:])
    }

    init(access: ServeAccess, readOnly: Bool, log: ServerLog) throws {
        self.access = access
        self.root = access.root
        self.readOnly = readOnly
        self.log = log
        bases = (try Vault.open(containing: access.root, configuration: access.configuration),
                 try Vault.open(containing: access.root, configuration: access.configuration))
        idempotency = readOnly ? nil : try IdempotencyStore.open(bases.write)
        report(bases.write)
    }

    /// Runs `body` on `lane`'s queue.
    func run<T: Sendable>(_ lane: Lane, _ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            (lane == .read ? queues.read : queues.write).async {
                let session = Session(service: self, base: lane == .read ? self.bases.read : self.bases.write)
                defer { session.opened.map(self.report) }
                continuation.resume(with: Result { try body(session) })
            }
        }
    }

    /// One request's use of the vault, on its lane.
    final class Session {
        let service: VaultService
        private let base: Vault
        fileprivate var opened: Vault?

        fileprivate init(service: VaultService, base: Vault) {
            self.service = service
            self.base = base
        }

        /// What the token `bearer` is on this host.
        func authenticate(_ bearer: UnsafeRawBufferPointer) throws -> Vault.Authentication {
            try base.check(bearer: bearer)
        }

        /// The vault, opened for this request: its audit lines name `token`.
        func vault(for token: String) throws -> Vault {
            var configuration = service.access.configuration
            configuration.auditUser = "\(service.access.user) via token \(token)"
            let vault = try Vault.open(containing: service.root, configuration: configuration)
            vault.commitSigner = service.access.signer
            opened = vault
            return vault
        }
    }

    var identities: [Identity] { access.identities }

    /// The server's reader keys, for the "you would not read it" risk; nil
    /// when a plugin identity leaves them unknown.
    var myKeys: Set<ReaderKey>? {
        identities.contains { ReaderKey.of($0) == nil } ? nil : Set(identities.compactMap(ReaderKey.of))
    }

    /// Every id, from the cache while no directory holding ids changed.
    func ids(_ vault: Vault) -> [SecretID] {
        if let listing = caches.withLock({ $0.listing }), listing.isCurrent(root: root) { return listing.ids }
        let ids = vault.list()
        caches.withLock { $0.listing = Listing(root: root, ids: ids) }
        log.debug("id list rebuilt: \(ids.count) ids")
        return ids
    }

    /// `id`'s version number (v1 the oldest, as `coffer history` counts), cached per HEAD.
    func version(of id: SecretID, in vault: Vault) throws -> Int {
        let head = vault.headCommit
        if let known = caches.withLock({ $0.versions.head == head ? $0.versions.numbers[id] : nil }) { return known }
        let number = try vault.history(of: id).first?.number ?? 0
        caches.withLock { caches in
            if caches.versions.head != head { caches.versions = (head, [:]) }
            caches.versions.numbers[id] = number
        }
        return number
    }

    /// `id`'s versions, newest first, signatures checked; cached per HEAD
    /// (at most 1,000 ids, then the cache starts again).
    func history(of id: SecretID, in vault: Vault) throws -> [SecretVersion] {
        let head = vault.headCommit
        if let known = caches.withLock({ $0.histories.head == head ? $0.histories.versions[id] : nil }) { return known }
        let versions = try vault.history(of: id, checker: try vault.signatureChecker())
        caches.withLock { caches in
            if caches.histories.head != head || caches.histories.versions.count >= 1000 { caches.histories = (head, [:]) }
            caches.histories.versions[id] = versions
        }
        return versions
    }

    private func report(_ vault: Vault) {
        for notice in vault.notices { log.warning(notice.description) }
        for obstacle in vault.obstaclesLeft { log.warning(obstacle.description) }
    }

    /// What a commit left undone (the work tree, the audit line), as the CLI warns of it.
    func report(_ outcome: ChangeOutcome) {
        if let pending = outcome.workTreePending { log.warning("committed, but the work tree was not updated: \(ServeProblem.message(for: pending))") }
        if let pending = outcome.auditPending { log.warning("committed, but the audit log was not written: \(pending)") }
    }
}

/// The ids of the work tree, with the modification time of every directory
/// that holds one (and their parents): an id added, removed or renamed
/// changes one of them, as does a checkout or pull that touched ids.
struct Listing {
    let ids: [SecretID]
    private let stamps: [String: [Int]]

    init(root: String, ids: [SecretID]) {
        self.ids = ids
        var directories: Set<String> = [""]
        for id in ids {
            var directory = Substring(id.directory)
            while !directory.isEmpty, directories.insert(String(directory)).inserted {
                directory = directory.lastIndex(of: "/").map { directory[..<$0] } ?? ""
            }
        }
        stamps = Dictionary(uniqueKeysWithValues: directories.map { ($0, Listing.stamp(root, $0)) })
    }

    func isCurrent(root: String) -> Bool {
        stamps.allSatisfy { path, stamp in Listing.stamp(root, path) == stamp }
    }

    /// Inode, modification and change times: a directory replaced or
    /// rewritten within one clock tick still differs in one of them.
    private static func stamp(_ root: String, _ directory: String) -> [Int] {
        var info = stat()
        guard lstat(directory.isEmpty ? root : root + "/" + directory, &info) == 0 else { return [] }
        return [Int(info.st_ino), info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }
}
