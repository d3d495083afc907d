#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The `Idempotency-Key`s `coffer serve` has answered writes for, kept 24
/// hours under `.git/coffer/idempotency` (never committed) so that a retry —
/// after a lost answer or a restart — returns the first result and makes no
/// second commit. Each line holds a keyed hash of the token and the key, a
/// hash of the request (method, path and body: never the body) keyed by the
/// host's key and the Idempotency-Key, the time, and the answer coffer gave
/// (its status and its JSON, which holds ids and commits, never a value).
///
/// A key is first written as pending, before its commit, and then answered:
/// a retry that finds it still pending (the same request running, or a
/// server stopped between commit and answer) gets a conflict, never a
/// second commit. One server writes the file at a time (`lock` in `open`).
public final class IdempotencyStore {
    /// How long a key is remembered.
    public static let lifetime = 24 * 60 * 60
    /// The most keys remembered at once; beyond it writes with a key are refused.
    public static let capacity = 200_000
    static let fileName = "coffer/idempotency"
    static let header = "coffer-idempotency 1"

    /// What a request with a key is, given what was remembered.
    public enum Lookup: Equatable, Sendable {
        /// Never seen (or forgotten after 24 hours): do it.
        case fresh
        /// Done before: answer `status` with `body` again.
        case replay(status: Int, body: String)
        /// The same key with another request, or its first use has no answer yet.
        case conflict(pending: Bool)
    }

    struct Entry {
        var request: String
        var time: Int
        /// 0 while pending.
        var status: Int
        var body: String
    }

    private let gitDirectory: String
    private let key: SecureBytes
    private var entries: [String: Entry] = [:]
    private var lines = 0
    private let lock: DirectoryLock

    private init(gitDirectory: String, key: SecureBytes, lock: DirectoryLock) {
        self.gitDirectory = gitDirectory
        self.key = key
        self.lock = lock
    }

    /// The store of `vault`'s clone, read, with its expired keys dropped.
    /// Held by one server at a time: a second fails at once (a server holds
    /// it for its whole life, so waiting would only look like a hang).
    public static func open(_ vault: Vault, now: Int = UTCTime.now()) throws -> IdempotencyStore {
        let gitDirectory = vault.gitDirectory
        let lock: DirectoryLock
        do {
            try Files.makeDirectories(CloneFile.directory(gitDirectory: gitDirectory))
            lock = try DirectoryLock(path: gitDirectory + "/coffer/idempotency.lock", timeout: 0)
        } catch FileError.busy {
            throw VaultError.idempotencyStoreBusy
        } catch let error as FileError {
            throw VaultError.file(error)
        }
        let tokens = TokenStore(gitDirectory: gitDirectory)
        let key = try tokens.key(creating: true, tokensExist: !(try tokens.load()).isEmpty)!
        let store = IdempotencyStore(gitDirectory: gitDirectory, key: key, lock: lock)
        try store.load(now: now)
        try store.compact()
        return store
    }

    /// What a write with `idempotencyKey` from `token` (its `identity`: a
    /// token revoked and made again under its name starts afresh) is, its
    /// request being `request` (method, path and body, as the server joins them).
    public func lookup(token: String, idempotencyKey: String, request: UnsafeRawBufferPointer,
                       now: Int = UTCTime.now()) -> Lookup {
        let (slot, fingerprint) = hashes(token: token, idempotencyKey: idempotencyKey, request: request)
        guard let entry = entries[slot], now - entry.time < IdempotencyStore.lifetime else { return .fresh }
        guard entry.request == fingerprint else { return .conflict(pending: false) }
        return entry.status == 0 ? .conflict(pending: true) : .replay(status: entry.status, body: entry.body)
    }

    /// Records the key as taken, before the work it guards.
    public func begin(token: String, idempotencyKey: String, request: UnsafeRawBufferPointer, now: Int = UTCTime.now()) throws {
        guard entries.count < IdempotencyStore.capacity else {
            try compact(now: now)
            guard entries.count < IdempotencyStore.capacity else { throw VaultError.idempotencyStoreFull }
            return try begin(token: token, idempotencyKey: idempotencyKey, request: request, now: now)
        }
        let (slot, fingerprint) = hashes(token: token, idempotencyKey: idempotencyKey, request: request)
        try append(slot, Entry(request: fingerprint, time: now, status: 0, body: ""))
    }

    /// Records the answer given for the key (`body`: one line of JSON, no value in it).
    public func finish(token: String, idempotencyKey: String, request: UnsafeRawBufferPointer, status: Int, body: String,
                       now: Int = UTCTime.now()) throws {
        precondition(status > 0 && !body.contains("\n"))
        let (slot, fingerprint) = hashes(token: token, idempotencyKey: idempotencyKey, request: request)
        try append(slot, Entry(request: fingerprint, time: entries[slot]?.time ?? now, status: status, body: body))
    }

    /// Forgets a key whose work failed before it changed anything, so a retry can do it.
    public func abandon(token: String, idempotencyKey: String, request: UnsafeRawBufferPointer) throws {
        let (slot, _) = hashes(token: token, idempotencyKey: idempotencyKey, request: request)
        guard entries[slot] != nil else { return }
        try append(slot, nil)
    }

    private func hashes(token: String, idempotencyKey: String, request: UnsafeRawBufferPointer) -> (slot: String, request: String) {
        // Domain-separated from the token hashes that share the key.
        let slot = Array("coffer-idempotency-key\n\(token)\n\(idempotencyKey)".utf8).withUnsafeBytes { Digest.keyedHash($0, key: key) }
        // The request holds the value, so its hash would let whoever copies
        // .git/coffer (key included) test guesses at it. Keyed also by the
        // Idempotency-Key, which the file holds only hashed, a guess needs
        // the client's key too: random keys (a UUID) make the file useless.
        let requestKey = SecureBytes(copying: Array("coffer-idempotency-request\n\(idempotencyKey)".utf8)
            .withUnsafeBytes { Digest.keyedHash($0, key: key) })
        return (Text.hex(slot), Text.hex(Digest.keyedHash(request, key: requestKey)))
    }

    // MARK: the file

    /// `SLOT REQUEST TIME STATUS BODY`, or `SLOT -` for a key forgotten.
    private func append(_ slot: String, _ entry: Entry?) throws {
        let line = entry.map { "\(slot) \($0.request) \($0.time) \($0.status) \($0.body)" } ?? "\(slot) -"
        let path = gitDirectory + "/" + IdempotencyStore.fileName
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw VaultError.file(.open(path: path, errno: errno)) }
        defer { Glibc.close(fd) }
        do {
            try FileDescriptorSink(fd: fd, name: path).write(line + "\n")
            guard fsync(fd) == 0 else { throw FileError.write(path: path, errno: errno) }
        } catch let error as FileError {
            throw VaultError.file(error)
        }
        entries[slot] = entry
        lines += 1
        if lines > 2 * entries.count + 1000 { try compact() }
    }

    private func load(now: Int) throws {
        guard let text = try CloneFile.read(IdempotencyStore.fileName, gitDirectory: gitDirectory) else { return }
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard all.first == Substring(IdempotencyStore.header) else { throw VaultError.corruptIdempotencyStore(line: 1) }
        var rows = all.dropFirst()
        // A line cut short by a crash can only be the last one.
        if let last = rows.last, !last.isEmpty { rows = rows.dropLast() }
        for (index, row) in rows.enumerated() where !row.isEmpty {
            let words = row.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            let slot = String(words[0])
            guard slot.utf8.count == 64, slot.utf8.allSatisfy(AccessToken.isHex) else {
                throw VaultError.corruptIdempotencyStore(line: index + 2)
            }
            if words.count == 2, words[1] == "-" {
                entries[slot] = nil
                continue
            }
            guard words.count == 5, words[1].utf8.count == 64, let time = Int(words[2]), let status = Int(words[3]),
                  (0...599).contains(status) else { throw VaultError.corruptIdempotencyStore(line: index + 2) }
            if now - time < IdempotencyStore.lifetime {
                entries[slot] = Entry(request: String(words[1]), time: time, status: status, body: String(words[4]))
            } else {
                entries[slot] = nil
            }
        }
    }

    /// Rewrites the file with the keys still remembered.
    private func compact(now: Int = UTCTime.now()) throws {
        entries = entries.filter { now - $0.value.time < IdempotencyStore.lifetime }
        var text = IdempotencyStore.header + "\n"
        for (slot, e) in entries.sorted(by: { $0.value.time < $1.value.time }) {
            text += "\(slot) \(e.request) \(e.time) \(e.status) \(e.body)\n"
        }
        try CloneFile.write(text, to: IdempotencyStore.fileName, gitDirectory: gitDirectory)
        lines = entries.count
    }
}
