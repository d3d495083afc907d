import Age
import GitStore

/// One change a use case makes to the vault; a transaction applies a list
/// of them as one commit.
enum VaultChange {
    case set(SecretID, SecureBytes)
    /// Like `set`, for an id HEAD must not hold yet (checked under the lock).
    case create(SecretID, SecureBytes)
    case remove(SecretID)
    case move(from: SecretID, to: SecretID)
    /// Replace the `.recipients` of the scope.
    case setReaders(Scope, RecipientsFile)
    /// Make the committed file sealed for its scope's readers: re-wrapped
    /// (payload kept) when readers were only added, re-keyed when one was
    /// dropped; nothing happens if it is already sealed for them.
    case rewrap(SecretID)
    /// Re-encrypt the committed file's value under a fresh data key.
    case rekey(SecretID)
    /// Replace the root `.gitattributes` (see `Attributes`).
    case setAttributes(String)
    /// A bundle entry (bound to `bound`) re-wrapped for `id`'s readers and
    /// bound to `id`: its file key and payload are kept.
    case importEntry(SecretID, file: [UInt8], bound: SecretID)
    /// Record an imported bundle in the root `.imported` (see `ImportRecords`),
    /// checked again under the lock against what HEAD records.
    case recordImport(ImportRecords.Entry, allowOlder: Bool)
    /// A trailer for the commit message only (`Coffer-Bundle: …`).
    case trailer(key: String, value: String)
    /// Replace the root `.signers`, if HEAD still holds what it was planned from.
    case setSigners(SignersEdit)
    /// Replace the root `.coffer-config`, if HEAD still holds what it was planned from.
    case setConfig(ConfigEdit)
}

/// What a committed change did: the commit (nil when nothing changed), and
/// which ids were written, removed or left as they were.
public struct ChangeOutcome: Sendable {
    /// The new commit's id (hex), or nil when there was nothing to change.
    public internal(set) var commit: String?
    public internal(set) var written: [SecretID] = []
    public internal(set) var removed: [SecretID] = []
    public internal(set) var unchanged: [SecretID] = []
    /// The written ids that got a fresh data key (a subset of `written`).
    public internal(set) var rekeyed: [SecretID] = []
    /// Set when the commit landed but updating the work tree failed; the next
    /// command completes it, and git's index stays locked until then (so no
    /// `git commit` records the index without the change). The change itself
    /// is made and acknowledged.
    public internal(set) var workTreePending: (any Error)?
    /// Set when the commit landed but its audit log line could not be
    /// written (checked writable before committing, so rarely: a full disk).
    public internal(set) var auditPending: AuditError?
    /// After removing readers: the re-keyed ids whose files named one of
    /// them. Those readers may still know these values; change them.
    public internal(set) var exposed: [SecretID] = []
    /// Work-tree files `verify --fix` moved aside, relative to the vault root.
    public internal(set) var setAside: [String] = []
    /// For each re-sealed id, the fingerprints of the readers its file was
    /// sealed for before (authenticated: re-sealing checked the header MAC).
    var previousReaders: [SecretID: [String]] = [:]
}
