#if canImport(Glibc)
import Glibc
#endif
import Age

/// Plugins behind the per-file `Recipient` and `Identity` protocols, batched:
/// `prepareWrap` / `prepareUnwrap` run one session per plugin for a whole
/// operation and keep the results; the adapters then answer each file from
/// them, and fall back to a session of their own for a file not prepared.
///
/// Cached file keys live only in wiped buffers. The wrap cache is keyed by a
/// keyed BLAKE2b of each file key under a random key of this object's own,
/// so the keys are never dictionary keys and the hashes tell nothing.
///
/// The adapters may be called from many threads at once (a vault re-seals
/// across the cores): every use of the caches and the client is serialised,
/// so two files never start two plugin sessions — two PIN prompts — at once.
public final class PluginBatch: Redacted, @unchecked Sendable {
    public let client: PluginClient
    /// Plugin processes started so far (the client's count).
    public var sessionsStarted: Int { client.sessionsStarted }

    /// Drawn at first use (always under the lock): a front end makes one
    /// batch per process, and most commands meet no plugin.
    private lazy var hashKey = SecureBytes.random(count: Digest.keyedHashSize)
    /// keyed hash of a file key → recipient group → its stanzas for that key.
    private var wrapped: [[UInt8]: [Group: [Stanza]]] = [:]
    private var groupLabels: [Group: Set<String>] = [:]
    /// SHA-256 of a file's stanzas (public) → what the prepared sessions made of it.
    private var opened: [[UInt8]: Opened] = [:]
    /// Keyed hashes of the identities the prepared sessions used.
    private var preparedIdentities: Set<[UInt8]> = []

    /// The recipients of one plugin, wrapped to together in one session.
    struct Group: Hashable {
        let plugin: String
        let recipients: [String]

        init(_ recipients: [PluginRecipient]) {
            plugin = recipients[0].name
            self.recipients = recipients.map(\.encoded).sorted()
        }
    }

    /// A prepared file: the key and the plugin that opened it, or neither.
    private struct Opened {
        let key: SecureBytes?
        let plugin: String?
    }

    private var mutex = pthread_mutex_t()

    public init(client: PluginClient) {
        self.client = client
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    public var redactedDescription: String { "PluginBatch(<redacted>, \(wrapped.count) keys wrapped, \(opened.count) files seen)" }

    // MARK: preparing

    /// Wraps every file key to `recipients` now, one session per plugin.
    public func prepareWrap(fileKeys: [SecureBytes], for recipients: [PluginRecipient]) throws {
        try locked { try unlockedPrepareWrap(fileKeys: fileKeys, for: recipients) }
    }

    private func unlockedPrepareWrap(fileKeys: [SecureBytes], for recipients: [PluginRecipient]) throws {
        guard !fileKeys.isEmpty else { return }
        let hashes = fileKeys.map(hash)
        for group in PluginBatch.groups(recipients) {
            let result = try client.wrapLabeled(fileKeys: fileKeys, for: group)
            let key = Group(group)
            groupLabels[key] = result.labels
            for (i, stanzas) in result.stanzas.enumerated() { wrapped[hashes[i], default: [:]][key] = stanzas }
        }
    }

    /// Offers every file's stanzas to `identities` now, one session per plugin
    /// (a file one plugin opened is not offered to the next).
    public func prepareUnwrap(files: [[Stanza]], with identities: [PluginIdentity]) throws {
        try locked { try unlockedPrepareUnwrap(files: files, with: identities) }
    }

    private func unlockedPrepareUnwrap(files: [[Stanza]], with identities: [PluginIdentity]) throws {
        guard !files.isEmpty else { return }
        let digests = files.map(PluginBatch.digest)
        var found: [Int: (key: SecureBytes, plugin: String)] = [:]
        for name in PluginClient.names(identities.map(\.name)) {
            let pending = files.indices.filter { found[$0] == nil }
            let keys = try client.unwrap(files: pending.map { files[$0] }, with: identities.filter { $0.name == name })
            for (local, key) in keys { found[pending[local]] = (key, name) }
        }
        for identity in identities { preparedIdentities.insert(identity.encoding.withUnsafeBytes { Digest.keyedHash($0, key: hashKey) }) }
        for (i, digest) in digests.enumerated() { opened[digest] = Opened(key: found[i]?.key, plugin: found[i]?.plugin) }
    }

    /// Wraps every file key the prepared unwraps opened to `recipients`, one
    /// session per plugin: a re-wrap (`Age.rewrap` through these adapters)
    /// then asks for no PIN or touch per file either.
    public func prepareWrapOpened(for recipients: [PluginRecipient]) throws {
        try locked { try unlockedPrepareWrap(fileKeys: opened.values.compactMap(\.key), for: recipients) }
    }

    // MARK: adapters

    /// One `Recipient` per plugin among `recipients`: each returns its
    /// plugin's stanzas once per file, for exactly that set of recipients.
    public func recipients(_ recipients: [PluginRecipient]) -> [Recipient] {
        PluginBatch.groups(recipients).map { BatchRecipient(batch: self, recipients: $0) }
    }

    /// `recipient` alone as a `Recipient` (`recipients([recipient])`).
    public func recipient(_ recipient: PluginRecipient) -> Recipient {
        BatchRecipient(batch: self, recipients: [recipient])
    }

    public func identity(_ identity: PluginIdentity) -> Identity {
        BatchIdentity(batch: self, identity: identity)
    }

    private struct BatchRecipient: Recipient {
        let batch: PluginBatch
        let recipients: [PluginRecipient]

        /// A labelled plugin's stanzas may share a file only with stanzas of
        /// the same labels; this conservative answer lets them stand alone.
        var mustBeAlone: Bool { batch.locked { batch.groupLabels[Group(recipients)]?.isEmpty == false } }

        func wrap(fileKey: SecureBytes) throws -> [Stanza] {
            try batch.locked {
                if let stanzas = batch.wrapped[batch.hash(fileKey)]?[Group(recipients)] { return stanzas }
                let result = try batch.client.wrapLabeled(fileKeys: [fileKey], for: recipients)
                guard result.labels.isEmpty else { throw PluginError.labelsNeedBatch(plugin: recipients[0].name) }
                return result.stanzas[0]
            }
        }
    }

    private struct BatchIdentity: Identity {
        let batch: PluginBatch
        let identity: PluginIdentity

        func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
            try batch.locked { try unlockedUnwrap(stanzas) }
        }

        private func unlockedUnwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
            let prepared = batch.preparedIdentities.contains(identity.encoding.withUnsafeBytes { Digest.keyedHash($0, key: batch.hashKey) })
            if prepared, let seen = batch.opened[PluginBatch.digest(stanzas)] {
                guard let key = seen.key, seen.plugin == identity.name else { return .notMine }
                return .fileKey(key.withUnsafeBytes { SecureBytes(copying: $0) })
            }
            guard let key = try batch.client.unwrap(files: [stanzas], with: [identity])[0] else { return .notMine }
            return .fileKey(key)
        }
    }

    // MARK: keys

    private func hash(_ fileKey: SecureBytes) -> [UInt8] {
        fileKey.withUnsafeBytes { Digest.keyedHash($0, key: hashKey) }
    }

    private static func digest(_ stanzas: [Stanza]) -> [UInt8] {
        Digest.sha256(stanzas.flatMap(\.encoded))
    }

    private static func groups(_ recipients: [PluginRecipient]) -> [[PluginRecipient]] {
        var seen = Set<PluginRecipient>()
        let unique = recipients.filter { seen.insert($0).inserted }
        return PluginClient.names(unique.map(\.name)).map { name in unique.filter { $0.name == name } }
    }
}
