import Age

/// The changes that give scopes new readers, ready for `Vault.apply`: each
/// scope's new `.recipients`, and every secret they govern afterwards made
/// to match it (re-wrapped when readers were only added, re-keyed when one
/// was dropped; files already sealed right are left alone).
public struct ReaderPlan {
    /// The new readers of each changed scope directory ("" is the root).
    public var readers: [String: [NamedRecipient]]
    public var changes: [VaultChange]
    /// How many secrets the changed scopes govern.
    public var secretCount: Int
}

/// Who `recipients rm` means: a public key, or the name written beside one.
public enum ReaderSelector: Equatable {
    case key(X25519Recipient)
    case name(String)

    public init(_ text: String) throws {
        self = text.hasPrefix("age1") ? .key(try X25519Recipient(parsing: text)) : .name(text)
    }

    func matches(_ reader: NamedRecipient) -> Bool {
        switch self {
        case .key(let key): return reader.recipient == key
        case .name(let name): return reader.name == name
        }
    }

    var description: String {
        switch self {
        case .key(let key): return key.encoded
        case .name(let name): return name
        }
    }
}

extension Vault {
    /// Adds `reader` to each directory in `scopes`. A directory without its
    /// own `.recipients` gets one: the readers it inherits plus `reader`.
    /// Scopes the reader already reads are left out; if that is all of them,
    /// `VaultError.alreadyReads`.
    public func planAddingReader(_ reader: NamedRecipient, to scopes: [String]) throws -> ReaderPlan {
        var files: [String: RecipientsFile] = [:]
        for dir in scopes {
            let file = try recipientsFile(ofDirectory: dir) ?? RecipientsFile(entries: scope(ofDirectory: dir).readers)
            if file.entries.contains(where: { $0.recipient == reader.recipient }) { continue }
            files[dir] = file.adding(reader)
        }
        guard !files.isEmpty else {
            throw VaultError.alreadyReads(reader: reader.name ?? reader.recipient.encoded, scopes: scopes)
        }
        return try plan(files)
    }

    /// Removes the readers `selector` names from `scopes` (each must have its
    /// own `.recipients`), or from every scope that lists them. A scope left
    /// without readers is refused.
    public func planRemovingReader(_ selector: ReaderSelector, from scopes: [String]?) throws -> (ReaderPlan, removed: [NamedRecipient]) {
        var files: [String: RecipientsFile] = [:]
        var removed: [NamedRecipient] = []
        for dir in scopes ?? self.scopes() {
            guard let own = try recipientsFile(ofDirectory: dir) else {
                throw VaultError.notAScope(directory: dir, inheritsFrom: try scope(ofDirectory: dir).directory)
            }
            let matching = own.entries.filter(selector.matches)
            guard !matching.isEmpty else {
                if scopes != nil { throw VaultError.notAReader(reader: selector.description, scope: dir) }
                continue
            }
            for reader in matching where !removed.contains(reader) { removed.append(reader) }
            files[dir] = own.removing(where: selector.matches)
        }
        guard !files.isEmpty else { throw VaultError.notAReader(reader: selector.description, scope: nil) }
        if case .name(let name) = selector, Set(removed.map(\.recipient)).count > 1 {
            throw VaultError.ambiguousReader(name: name, keys: removed.map(\.recipient.encoded))
        }
        return (try plan(files), removed)
    }

    /// Puts `new` in place of `old` in every scope `old` reads (keeping its
    /// line and name unless `name` is given); the secrets there are re-keyed,
    /// since `old` no longer reads them.
    public func planReplacingReader(_ old: X25519Recipient, with new: X25519Recipient, name: String? = nil) throws -> ReaderPlan {
        var files: [String: RecipientsFile] = [:]
        for dir in scopes() {
            guard let own = try recipientsFile(ofDirectory: dir), own.entries.contains(where: { $0.recipient == old }) else { continue }
            files[dir] = own.replacing(old, with: new, name: name)
        }
        guard !files.isEmpty else { throw VaultError.notAReader(reader: old.encoded, scope: nil) }
        return try plan(files)
    }

    /// The changes for giving scopes new `.recipients`: the files, then every
    /// secret those scopes govern once they are in place. A scope left
    /// without readers is refused.
    func plan(_ files: [String: RecipientsFile]) throws -> ReaderPlan {
        var readers: [String: [NamedRecipient]] = [:]
        for (dir, file) in files {
            guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: dir) }
            readers[dir] = file.entries
        }
        var ids: Set<SecretID> = []
        var scopeOf: [String: String] = [:]
        for dir in files.keys {
            for id in try list(prefix: dir) where !ids.contains(id) {
                if scopeOf[id.directory] == nil {
                    scopeOf[id.directory] = try scope(for: id, overrides: readers).directory
                }
                if readers[scopeOf[id.directory]!] != nil { ids.insert(id) }
            }
        }
        let sortedIDs = ids.sorted()
        let changes = files.keys.sorted().map { VaultChange.setReaders(scope: $0, files[$0]!) } + sortedIDs.map { VaultChange.rewrap($0) }
        return ReaderPlan(readers: readers, changes: changes, secretCount: sortedIDs.count)
    }
}
