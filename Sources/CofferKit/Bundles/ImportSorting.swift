import Age
import GitStore

/// Sorts what an import brings (a bundle's entries, a plaintext file's
/// values) against the committed secrets: a new id is added; the same value,
/// compared in constant time, is unchanged; another value, or one you cannot
/// open, is a conflict — changed under `.replace`, kept otherwise (and
/// `.refuse` refuses the import on it).
struct ImportSorting {
    private let repo: GitRepository
    private let head: ObjectID?
    private let identities: [Identity]
    private let policy: ImportOptions.Conflicts
    private(set) var added: [SecretID] = []
    private(set) var changed: [SecretID] = []
    private(set) var unchanged: [SecretID] = []
    private(set) var conflicts: [SecretID] = []

    init(_ vault: Vault, identities: [Identity], policy: ImportOptions.Conflicts) throws {
        repo = try vault.repo()
        head = try repo.head()
        self.identities = identities
        self.policy = policy
    }

    /// Whether `value` is to be written at `id`; files `id` under its status.
    mutating func admits(_ id: SecretID, value: SecureBytes) throws -> Bool {
        guard let existing = try head.flatMap({ try repo.blob(at: id.relativePath, in: $0) }).map({ try repo.readBlob($0) }) else {
            added.append(id)
            return true
        }
        let current = try? Sealing.open(existing, id: id, identities: identities)
        if current?.constantTimeEquals(value) == true {
            unchanged.append(id)
            return false
        }
        guard policy == .replace else {
            conflicts.append(id)
            return false
        }
        changed.append(id)
        return true
    }
}
