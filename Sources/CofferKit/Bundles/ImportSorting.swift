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

    /// HEAD's sealed files by path, from one walk of its tree: a path lookup
    /// each costs far more in a large vault (libgit2 re-reads big trees).
    private let committed: [String: ObjectID]

    init(_ vault: Vault, identities: [Identity], policy: ImportOptions.Conflicts) throws {
        let repo = try vault.repo(), head = try repo.head()
        self.repo = repo
        self.head = head
        self.identities = identities
        self.policy = policy
        committed = try head.map { head in
            Dictionary(uniqueKeysWithValues: try repo.files(in: head, under: "").map { ($0.path, $0.blob) })
        } ?? [:]
    }

    /// Whether the value `value` gives is to be written at `id`; files `id`
    /// under its status. `value` is asked for only when `id` exists here, so
    /// an import of new ids keeps no values in memory.
    mutating func admits(_ id: SecretID, value: () throws -> SecureBytes) throws -> Bool {
        guard let existing = try committed[id.relativePath].map({ try repo.readBlob($0) }) else {
            added.append(id)
            return true
        }
        let current = try? Sealing.open(existing, id: id, identities: identities)
        if try current?.constantTimeEquals(value()) == true {
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
