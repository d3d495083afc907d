import Age
import Posix

/// A scope as `recipients list` shows it.
public struct ScopeSummary: Equatable, Sendable {
    /// The directory with its own `.recipients`.
    public let scope: Scope
    /// Its readers, in file order.
    public let readers: [NamedRecipient]
    /// How many secrets this scope's `.recipients` governs.
    public let secretCount: Int
}

/// Who `recipients rm` means: a public key, or the name written beside one.
public enum ReaderSelector: Equatable, Sendable, CustomStringConvertible {
    case key(ReaderKey)
    case name(String)

    /// `age1…` selects by key; anything else by name.
    public init(_ text: String) throws {
        try Text.refuseSecretKey(text, as: "the reader")
        self = ReaderKey.looksLikeKey(text) ? .key(try ReaderKey(parsing: text)) : .name(text)
    }

    func matches(_ reader: NamedRecipient) -> Bool {
        switch self {
        case .key(let key): return reader.recipient == key
        case .name(let name): return reader.name == name
        }
    }

    /// The key or name as given.
    public var description: String {
        switch self {
        case .key(let key): return key.encoded
        case .name(let name): return name
        }
    }
}

/// Managing who reads a scope: recipients list, add, rm.
extension Vault {
    /// Every scope with its readers and how many secrets it governs.
    public func readerSummary() throws -> [ScopeSummary] {
        try scopes().map { scope in
            ScopeSummary(scope: scope, readers: try readers(in: scope).readers, secretCount: try governed(by: scope).count)
        }
    }

    /// Plans adding `reader` to `scopes` (nil: every scope), re-wrapping
    /// their secrets' data keys for them (payloads unchanged). A directory
    /// without its own `.recipients` gets one: the readers it inherits plus
    /// `reader`. Scopes the reader already reads are left out; if that is
    /// all of them, `VaultError.alreadyReads`.
    public func planAddReader(_ reader: NamedRecipient, to scopes: [Scope]?) throws -> ChangePlan {
        try reader.checkName()
        let targets = scopes ?? self.scopes()
        var files: [Scope: RecipientsFile] = [:]
        for scope in targets {
            let file: RecipientsFile
            if let own = try recipientsFile(of: scope) {
                file = own
            } else {
                let inherited = try readers(in: scope)
                try requireCommittedReaders(inherited.scope)
                file = RecipientsFile(entries: inherited.readers)
            }
            if file.entries.contains(where: { $0.recipient == reader.recipient }) { continue }
            guard file.entries.count < Sealing.maxReaders else {
                throw VaultError.tooManyReaders(scope: scope, count: file.entries.count + 1, limit: Sealing.maxReaders)
            }
            files[scope] = file.adding(reader)
        }
        guard !files.isEmpty else { throw VaultError.alreadyReads(reader: reader.name ?? reader.recipient.encoded, scopes: targets) }
        var plan = try plan(files, action: .rewrap)
        plan.grantedReader = reader.recipient
        return plan
    }

    /// Plans removing the readers `selector` names from `scopes` (each must
    /// have its own `.recipients`), or from every scope that lists them;
    /// the secrets they could read are re-keyed. The outcome's `exposed`
    /// lists the ids whose files named a removed reader: they may still know
    /// those values. Leaving a scope without readers is refused, naming it.
    /// `me`: the user's public keys, if known (removing yourself is a risk).
    public func planRemoveReader(_ selector: ReaderSelector, from scopes: [Scope]?, me: Set<ReaderKey>?) throws -> ChangePlan {
        var files: [Scope: RecipientsFile] = [:]
        var removed: [NamedRecipient] = []
        for scope in scopes ?? self.scopes() {
            guard let own = try recipientsFile(of: scope) else {
                throw VaultError.notAScope(scope, inheritsFrom: try readers(in: scope).scope)
            }
            let matching = own.entries.filter(selector.matches)
            guard !matching.isEmpty else {
                if scopes != nil { throw VaultError.notAReader(reader: selector.description, scope: scope) }
                continue
            }
            for reader in matching where !removed.contains(reader) { removed.append(reader) }
            files[scope] = own.removing(where: selector.matches)
        }
        guard !files.isEmpty else { throw VaultError.notAReader(reader: selector.description, scope: nil) }
        if case .name(let name) = selector, Set(removed.map(\.recipient)).count > 1 {
            throw VaultError.ambiguousReader(name: name, keys: removed.map(\.recipient.encoded))
        }
        // A name is only a label: a pushed edit can move it to another key.
        // Removing by name removes the key this clone accepted under it, or nothing.
        if case .name(let name) = selector {
            let accepted = try acceptedReaders()
            for scope in files.keys {
                let known = accepted.baseline(for: scope)?.readers.filter { $0.name == name }.map(\.recipient) ?? []
                if let relabelled = removed.first(where: { !known.isEmpty && !known.contains($0.recipient) }) {
                    throw VaultError.relabelledReader(name: name, key: relabelled.recipient.encoded, scope: scope)
                }
            }
        }
        let emptied = files.filter { $0.value.entries.isEmpty }.map(\.key).sorted()
        guard emptied.isEmpty else { throw VaultError.onlyReader(reader: selector.description, scopes: emptied) }
        return try plan(files, action: .rekey, removing: removed, me: me)
    }

    /// Puts `new` in place of `old` in every scope `old` reads (keeping its
    /// line and name); the secrets there are re-keyed, since `old` no longer
    /// reads them.
    func planReplacingReader(_ old: ReaderKey, with new: ReaderKey) throws -> ChangePlan {
        var files: [Scope: RecipientsFile] = [:]
        for scope in scopes() {
            guard let own = try recipientsFile(of: scope), own.entries.contains(where: { $0.recipient == old }) else { continue }
            files[scope] = own.replacing(old, with: new, name: nil)
        }
        guard !files.isEmpty else { throw VaultError.notAReader(reader: old.encoded, scope: nil) }
        var plan = try plan(files, action: .rotateIdentity)
        plan.grantedReader = new
        plan.revokedKeys = [old]
        return plan
    }

    /// Refuses a scope whose `.recipients` in the work tree is not the one
    /// HEAD records (edited, untracked or deleted by hand): a change of
    /// readers starts from the readers the history records, so a hand edit
    /// never rides along unseen.
    func requireCommittedReaders(_ scope: Scope) throws {
        let file = scope.recipientsPath
        let repo = try repo()
        let committed = try repo.head().flatMap { try repo.blob(at: file, in: $0) }.map { try repo.readBlob($0) }
        guard ((try? workTreeFile(file)) ?? nil) == committed else { throw VaultError.uncommittedRecipients(path: file) }
    }

    /// The changes for giving scopes new `.recipients`: the files, then every
    /// secret those scopes govern once they are in place.
    func plan(_ files: [Scope: RecipientsFile], action: Action, removing removed: [NamedRecipient] = [],
              me: Set<ReaderKey>? = nil) throws -> ChangePlan {
        var readers: [Scope: [NamedRecipient]] = [:]
        for (scope, file) in files {
            try requireCommittedReaders(scope)
            guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: scope) }
            readers[scope] = file.entries
        }
        var ids: [SecretID] = []
        for scope in files.keys {
            let under = list(Prefix(validated: scope.directory))
            for (id, governing) in zip(under, try governingScopes(of: under, overrides: readers)) where readers[governing] != nil {
                ids.append(id)
            }
        }
        let sortedIDs = Array(Set(ids)).sorted()
        let changed = readers.keys.sorted().map { ScopeReaders(scope: $0, readers: readers[$0]!) }
        let changes = files.keys.sorted().map { VaultChange.setReaders($0, files[$0]!) } + sortedIDs.map { VaultChange.rewrap($0) }
        var plan = ChangePlan(action: action, changes: changes, readers: changed, secretCount: sortedIDs.count,
                              risks: ChangePlan.unreadable(changed, by: me))
        plan.removedReaders = removed
        return plan
    }
}
