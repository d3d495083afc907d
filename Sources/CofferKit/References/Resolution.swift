import Age

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
        var ids: [SecretID] = [], values: [SecretID: SecureBytes] = [:], failed: [UnresolvedReference] = []
        for id in Vault.distinct(references) {
            do {
                values[id] = try read(id, identities: identities)
                ids.append(id)
            } catch let error as VaultError {
                guard let status = Vault.status(of: error) else { throw error }
                failed.append(UnresolvedReference(id: id, status: status))
            }
        }
        guard failed.isEmpty else { throw ReferenceError.unresolved(failed) }
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
