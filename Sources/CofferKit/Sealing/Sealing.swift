import Age
import AgePlugin

/// Seals one secret as an age file bound to its id.
///
/// Besides one X25519 stanza per reader, the header carries a binding stanza
/// `-> coffer/binding <id> <fingerprint>…` (empty body). The header MAC covers
/// it and stock age skips it, so a file copied or moved to another id by hand
/// is refused, and `verify` can tell who can read a file without decrypting it.
enum Sealing {
    static let bindingType = "coffer/binding"

    /// The largest value a secret holds. Secrets are keys, passwords and
    /// certificates; a bound keeps every read of a sealed file small, so a
    /// huge file dropped in the tree is refused before it is read.
    static let maxValueSize = 16 << 20
    /// The most readers one file is sealed for. Each reader is a stanza in
    /// the header and a fingerprint in the binding; past a few thousand, the
    /// header outgrows what the age parser reads back (10,000 stanzas, 4 MiB),
    /// so a scope is held well below that.
    static let maxReaders = 1_000

    /// The largest sealed file read: the value, its STREAM tags (16 bytes a
    /// 64 KiB chunk) and a header within the age parser's 4 MiB bound.
    static let maxFileSize = maxValueSize + (maxValueSize >> 16 + 1) * 16 + (4 << 20)

    /// `fileKey`: drawn ahead (`AgeWriter.newFileKey`) when a batch of plugin
    /// readers wrapped it already; else a fresh one.
    static func seal(_ value: SecureBytes, id: SecretID, for readers: [NamedRecipient], plugins: PluginBatch,
                     fileKey: SecureBytes? = nil) throws -> [UInt8] {
        try Age.encrypt(value, to: readers.map { $0.recipient.wrapper(plugins) }, extraStanzas: [bindingStanza(id, readers)],
                        fileKey: fileKey)
    }

    private static func bindingStanza(_ id: SecretID, _ readers: [NamedRecipient], fingerprints: [String]? = nil) -> Stanza {
        Stanza(type: bindingType, arguments: [id.value] + (fingerprints ?? readers.map(\.fingerprint)))
    }

    /// The sealed file made to match `readers`, as cheaply as is safe:
    /// - when every reader it was sealed for is still a reader, the file key is
    ///   wrapped for the new readers only and the rest — the other stanzas and
    ///   the payload — is kept byte for byte (`.rewrapped`);
    /// - when a reader was dropped (or the file's stanzas do not match its
    ///   binding), the dropped reader still knows the file key, so the value is
    ///   re-encrypted under a fresh one (`.rekeyed`).
    /// Needs an identity that reads the file now. Also returns the
    /// fingerprints the file was bound to before (`previous`).
    ///
    /// The header is parsed once. `fingerprints`: `readers`' fingerprints,
    /// when the caller has them (a batch computes them once a scope);
    /// `own`: the fingerprints of `identities`' readers — the stanza the
    /// binding places at ours is tried first (stanzas follow the binding's
    /// order), then the rest as ever.
    static func reseal(_ file: [UInt8], id: SecretID, for readers: [NamedRecipient], fingerprints given: [String]? = nil,
                       own: Set<String> = [], identities: [Identity], plugins: PluginBatch)
        throws -> (bytes: [UInt8], how: Resealing, previous: [String]) {
        let parsed: (header: Header, payloadOffset: Int)
        do { parsed = try Header.parse(file) } catch let error as AgeError { throw failure(error, id) }
        let header = parsed.header
        let bound = try binding(of: header, id: id)
        guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
        let fingerprints = given ?? readers.map(\.fingerprint)
        let current = Set(fingerprints)
        guard Set(bound.fingerprints).isSubset(of: current),
              Set(bound.fingerprints).count == bound.fingerprints.count, readerStanzas(header) == bound.fingerprints.count
        else { return (try rekey(file, id: id, for: readers, identities: identities, plugins: plugins), .rekeyed, bound.fingerprints) }
        // Stanza order follows the binding's fingerprint order, new readers last.
        let position = Dictionary(zip(fingerprints, readers.indices), uniquingKeysWith: { first, _ in first })
        let kept = bound.fingerprints.compactMap { position[$0] }
        let boundSet = Set(bound.fingerprints)
        let added = readers.indices.filter { !boundSet.contains(fingerprints[$0]) }
        let order = (kept + added).map { readers[$0] }
        let orderFingerprints = (kept + added).map { fingerprints[$0] }
        // Reader stanzas come first, in the binding's order (as `seal` writes them).
        let ours = bound.fingerprints.firstIndex(where: own.contains)
        do {
            let bytes = try Age.rewrap(header: header, payload: file[parsed.payloadOffset...], identities: identities, tryingFirst: ours,
                                       keeping: { $0.type != bindingType }, adding: added.map { readers[$0].recipient.wrapper(plugins) },
                                       extraStanzas: [bindingStanza(id, order, fingerprints: orderFingerprints)])
            return (bytes, .rewrapped, bound.fingerprints)
        } catch let error as AgeError {
            throw failure(error, id)
        }
    }

    enum Resealing: Sendable { case rewrapped, rekeyed }

    /// The same file key and payload under a new header: wrapped for exactly
    /// `readers` and bound to `newID` (a bundle entry on its way out or in).
    /// The file must be bound to `id` and open with `identities`.
    static func rewrapped(_ file: [UInt8], id: SecretID, as newID: SecretID, for readers: [NamedRecipient],
                          identities: [Identity], plugins: PluginBatch) throws -> [UInt8] {
        let bound = try binding(of: try parsedHeader(file, id: id), id: id)
        guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
        do {
            return try Age.rewrap(file, identities: identities, adding: readers.map { $0.recipient.wrapper(plugins) },
                                  extraStanzas: [bindingStanza(newID, readers)])
        } catch let error as AgeError {
            throw failure(error, id)
        }
    }

    /// The same value sealed afresh: a new file key and payload for `readers`.
    static func rekey(_ file: [UInt8], id: SecretID, for readers: [NamedRecipient], identities: [Identity],
                      plugins: PluginBatch, fileKey: SecureBytes? = nil) throws -> [UInt8] {
        try seal(try open(file, id: id, identities: identities), id: id, for: readers, plugins: plugins, fileKey: fileKey)
    }

    /// The readers of `readers` that re-sealing `file` must wrap its present
    /// file key for (`reseal` keeps the others' stanzas): those its binding
    /// does not name. All of them when the file cannot be re-wrapped.
    static func newReaders(of file: [UInt8], id: SecretID, among readers: [NamedRecipient]) -> [NamedRecipient] {
        guard let bound = try? boundReaders(of: file, id: id) else { return readers }
        return readers.filter { !bound.fingerprints.contains($0.fingerprint) }
    }

    /// The value of the sealed `file`, which must be bound to `id`.
    static func open(_ file: [UInt8], id: SecretID, identities: [Identity]) throws -> SecureBytes {
        do {
            let (value, header) = try Age.decrypt(file, identities: identities)
            let bound = try binding(of: header, id: id)
            guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
            return value
        } catch let error as AgeError {
            throw failure(error, id)
        }
    }

    /// Fails as `open` would when `identities` cannot open the sealed `file`
    /// or it is not bound to `id`, from its header alone: the file key is
    /// unwrapped and the header MAC checked; the payload is not decrypted.
    static func checkOpens(_ file: [UInt8], id: SecretID, identities: [Identity]) throws {
        do {
            let bound = try binding(of: try Age.openHeader(file, identities: identities), id: id)
            guard bound.id == id.value else { throw VaultError.boundToOtherID(id: id.value, boundTo: bound.id) }
        } catch let error as AgeError {
            throw failure(error, id)
        }
    }

    /// Who a sealed file says it is for, read from the header without any key.
    /// The claim is authenticated only once the file is decrypted.
    static func boundReaders(of file: [UInt8], id: SecretID) throws -> (id: String, fingerprints: [String]) {
        try binding(of: parsedHeader(file, id: id), id: id)
    }

    private static func parsedHeader(_ file: [UInt8], id: SecretID) throws -> Header {
        do {
            return try Header.parse(file).header
        } catch let error as AgeError {
            throw failure(error, id)
        }
    }

    /// True when the file is sealed for exactly `readers`: its binding names
    /// them, and — since the binding is only a claim until decryption — it
    /// carries exactly that many reader stanzas (a planted reader shows).
    /// `fingerprints`: `readers`' fingerprints, when the caller has them.
    static func isSealed(_ file: [UInt8], id: SecretID, for readers: [NamedRecipient], fingerprints: [String]? = nil) -> Bool {
        guard let header = try? Header.parse(file).header, let bound = try? binding(of: header, id: id) else { return false }
        return bound.fingerprints.count == readers.count
            && Set(bound.fingerprints) == Set(fingerprints ?? readers.map(\.fingerprint))
            && readerStanzas(header) == readers.count
    }

    /// The stanzas a header carries for readers: every one but the binding.
    /// Each reader, of whatever kind, has exactly one.
    private static func readerStanzas(_ header: Header) -> Int {
        header.stanzas.filter { $0.type != bindingType }.count
    }

    /// The id a sealed file says it belongs to, without any key (unauthenticated).
    static func boundID(of file: [UInt8]) -> String? {
        (try? Header.parse(file)).flatMap { header, _ in header.stanzas.first { $0.type == bindingType }?.arguments.first }
    }

    /// True when two sealed files carry the same encrypted payload: only their
    /// headers (the wrapping) differ, so the value was not re-encrypted.
    static func samePayload(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard let (_, x) = try? Header.parse(a), let (_, y) = try? Header.parse(b) else { return false }
        return a[x...].elementsEqual(b[y...])
    }

    private static func binding(of header: Header, id: SecretID) throws -> (id: String, fingerprints: [String]) {
        let stanzas = header.stanzas.filter { $0.type == bindingType }
        guard stanzas.count == 1, let bound = stanzas[0].arguments.first else { throw VaultError.missingBinding(id: id.value) }
        return (bound, Array(stanzas[0].arguments.dropFirst()))
    }

    /// A decryption failure as the vault names it: not a reader, or a file
    /// that is damaged or was altered (the age error kept as the cause).
    static func failure(_ error: AgeError, _ id: SecretID, revision: String? = nil) -> VaultError {
        error.kind == .noMatch ? .notReadable(id: id.value, revision: revision) : .damaged(id: id.value, cause: error)
    }
}
