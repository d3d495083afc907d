import Age
import Posix

/// The values of a set of referenced secrets, each read once and held in
/// its own wiped buffer. Prints and mirrors as its ids' count only.
public final class ResolvedValues: Redacted {
    /// The ids resolved, in the order first referenced.
    public let ids: [SecretID]
    private let values: [SecretID: SecureBytes]

    init(ids: [SecretID], values: [SecretID: SecureBytes]) {
        self.ids = ids
        self.values = values
    }

    /// The value of `id`, if it was resolved.
    public subscript(id: SecretID) -> SecureBytes? { values[id] }

    func value(of id: SecretID) throws -> SecureBytes {
        guard let value = values[id] else { throw ReferenceError.unresolved([UnresolvedReference(id: id, status: .missing)]) }
        return value
    }

    public var redactedDescription: String { "ResolvedValues(<redacted>, \(ids.count) secrets)" }
}

extension Vault {
    /// The values of `references`, each id read once. All or nothing: when
    /// any id is missing or unreadable, throws `ReferenceError.unresolved`
    /// naming every such id, and no value is returned.
    public func resolve(_ references: [ConfigReference], identities: [Identity]) throws -> ResolvedValues {
        let ids = Vault.distinct(references)
        var files: [(SecretID, [UInt8])] = [], failed: [SecretID: ReferenceStatus] = [:]
        for id in ids {
            do {
                guard contains(id) else { throw VaultError.notFound(id: id.value) }
                files.append((id, try sealedFile(id)))
            } catch let error as VaultError {
                guard let status = Vault.status(of: error) else { throw error }
                failed[id] = status
            }
        }
        // Decrypting is the cost (a key agreement and a payload each), so it
        // runs across the cores; the files were read above, in order.
        try PluginPreparation.prepareOpening(files.map(\.1), identities: identities)
        let opened = try Parallel.map(files) { id, file in Result { try Sealing.open(file, id: id, identities: identities) } }
        var values: [SecretID: SecureBytes] = [:]
        for ((id, _), result) in zip(files, opened) {
            do {
                // A file that failed may have met a writer mid-rewrite: `read` waits for it and tries again.
                values[id] = try (try? result.get()) ?? read(id, identities: identities)
            } catch let error as VaultError {
                guard let status = Vault.status(of: error) else { throw error }
                failed[id] = status
            }
        }
        guard failed.isEmpty else {
            throw ReferenceError.unresolved(ids.compactMap { id in failed[id].map { UnresolvedReference(id: id, status: $0) } })
        }
        return ResolvedValues(ids: ids, values: values)
    }

    /// Whether each id can be read, without decrypting any value: the file
    /// is there and bound to its id, and an identity unwraps its file key
    /// and checks the header's MAC. The payload is not read, so a payload
    /// damaged after its header shows only when it is rendered.
    public func status(of references: [ConfigReference], identities: [Identity]) -> [SecretID: ReferenceStatus] {
        var statuses: [SecretID: ReferenceStatus] = [:]
        for id in Vault.distinct(references) {
            do {
                guard contains(id) else { throw VaultError.notFound(id: id.value) }
                try Sealing.checkOpens(try sealedFile(id), id: id, identities: identities)
                statuses[id] = .readable
            } catch {
                statuses[id] = (error as? VaultError).flatMap(Vault.status(of:)) ?? .damaged
            }
        }
        return statuses
    }

    private static func distinct(_ references: [ConfigReference]) -> [SecretID] {
        var seen = Set<SecretID>()
        return references.map(\.id).filter { seen.insert($0).inserted }
    }

    private static func status(of error: VaultError) -> ReferenceStatus? {
        switch error {
        case .notFound, .deletedAt: return .missing
        case .notReadable: return .notAReader
        case .damaged, .boundToOtherID, .missingBinding, .tooLarge, .symlinkInVault, .notARegularFile: return .damaged
        default: return nil
        }
    }
}
