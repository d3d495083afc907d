import Age

/// Failures of the vault layer. Cases name ids, paths and counts — never a
/// secret value, passphrase or private key.
public enum VaultError: Error, Equatable, CustomStringConvertible {
    case invalidID(String, reason: String)
    case notFound(id: String)
    case alreadyExists(id: String)
    case notAVault(path: String)
    case alreadyAVault(path: String)
    case noRecipients(scope: String)
    case invalidRecipientsFile(path: String, line: Int)
    /// The sealed file is bound to another id (moved or copied by hand).
    case boundToOtherID(id: String, boundTo: String)
    case missingBinding(id: String)
    case cannotDecrypt(id: String, reason: String)
    case identityMissing(path: String)
    case identityExists(path: String)
    case identityTooOpen(path: String, mode: UInt32)
    case wrongPassphrase(path: String)
    case symlinkInVault(path: String)
    case uncommittedRecipients(path: String)
    case detachedHead
    case noSuchRevision(id: String, revision: String)
    case deletedAt(id: String, revision: String)
    case insideVault(path: String, vault: String)
    case existingHistory(path: String)
    case locked(waitedSeconds: Int)
    case unreadable(path: String, reason: String)
    case alreadyReads(reader: String, scopes: [String])
    case notAReader(reader: String, scope: String?)
    /// A directory without its own `.recipients` (its readers come from above).
    case notAScope(directory: String, inheritsFrom: String)
    case ambiguousReader(name: String, keys: [String])

    /// A next step for the user, printed as `coffer: hint: …`.
    public var hint: String? {
        switch self {
        case .identityTooOpen(let path, _): return "chmod 600 \(path)"
        case .identityMissing: return "create one with `coffer identity new`, or pass --identity FILE"
        case .notAVault: return "run `coffer init`, or pass --vault DIR"
        case .existingHistory: return "coffer init needs a new or empty repository"
        case .detachedHead: return "check out the branch first (git checkout main)"
        case .noSuchRevision(let id, _): return "see `coffer history \(id)` for its versions (v1, v2…) or use a commit id"
        case .uncommittedRecipients(let path): return "review and commit it (git add \(path) && git commit), or restore it (git checkout -- \(path))"
        case .insideVault: return "a vault cannot be nested in another; use a scope (a directory with its own .recipients) instead"
        case .locked: return "another coffer process is writing this vault; try again (COFFER_LOCK_TIMEOUT sets the wait)"
        case .boundToOtherID: return "restore the file with git, or move secrets with `coffer mv`"
        case .notAScope(_, let parent): return "remove the reader there: --scope \(parent.isEmpty ? "/" : parent)"
        case .ambiguousReader: return "name the reader by its key (age1…)"
        case .notAReader: return "see `coffer recipients list`"
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .invalidID(let id, let reason): return "invalid secret id \(SecretID.quoted(id)): \(reason)"
        case .notFound(let id): return "no secret \(id)"
        case .alreadyExists(let id): return "\(id) already exists"
        case .notAVault(let path): return "\(path) is not inside a coffer vault"
        case .alreadyAVault(let path): return "\(path) is already a coffer vault"
        case .noRecipients(let scope): return "scope \(scope.isEmpty ? "/" : scope) has no recipients"
        case .invalidRecipientsFile(let path, let line): return "\(path) line \(line) is not a recipient (age1…)"
        case .boundToOtherID(let id, let other):
            return "\(id): sealed file is bound to \(other); it was moved or copied by hand (use coffer mv)"
        case .missingBinding(let id): return "\(id): sealed file has no coffer binding; it was not written by coffer"
        case .cannotDecrypt(let id, let reason): return "\(id): cannot decrypt: \(reason)"
        case .identityMissing(let path): return "no identity at \(path)"
        case .identityExists(let path): return "an identity already exists at \(path)"
        case .identityTooOpen(let path, let mode):
            return "identity \(path) is readable by others (mode \(String(mode & 0o777, radix: 8)))"
        case .wrongPassphrase(let path): return "wrong passphrase for identity file \(path)"
        case .uncommittedRecipients(let path):
            return "\(path) has changes that are not committed; coffer seals only for the readers in the vault's history"
        case .insideVault(let path, let vault): return "\(path) is inside the vault \(vault)"
        case .detachedHead: return "the vault's HEAD is detached; a commit here would be lost at the next checkout"
        case .noSuchRevision(let id, let revision): return "\(id): no revision \(SecretID.quoted(revision))"
        case .deletedAt(let id, let revision): return "\(id) does not exist at \(revision)"
        case .symlinkInVault(let path): return "\(path) in the vault is a symbolic link; coffer does not write through links"
        case .existingHistory(let path): return "\(path) is a git repository with history but no .recipients"
        case .locked(let seconds): return "the vault is locked by another coffer process (waited \(seconds) s)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .alreadyReads(let reader, let scopes):
            return "\(reader) already reads \(scopes.map { $0.isEmpty ? "/" : $0 }.joined(separator: ", "))"
        case .notAReader(let reader, let scope):
            return "\(reader) is not a reader of \(scope.map { $0.isEmpty ? "/" : $0 } ?? "any scope")"
        case .notAScope(let dir, let parent):
            return "\(dir) has no .recipients of its own; its readers come from \(parent.isEmpty ? "/" : parent)"
        case .ambiguousReader(let name, let keys): return "\(keys.count) different keys are named \(name)"
        }
    }
}
