import Age
import Posix

/// Failures of the vault layer, one case per refusal, each keeping what a
/// caller needs to tell them apart (a bad MAC is not a missing key). Cases
/// name ids, paths, scopes and counts — never a secret value, passphrase or
/// private key. Front ends add their own advice (the CLI's hints).
public enum VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidID(String, reason: String)
    case invalidScope(String, reason: String)
    /// A private key was given where `what` (an id, scope, path, revision)
    /// belongs; refused before anything is touched, and never shown.
    case looksLikeSecretKey(what: String)
    /// A path given to the library must be absolute: it reads no current directory.
    case notAbsolute(path: String)

    case notAVault(path: String)
    /// `clone` of a remote whose branch has no `.recipients` at its root
    /// (an empty remote, or not a vault); the URL is not quoted, as it may
    /// hold a password.
    case remoteNotAVault
    /// A clone whose HEAD names a branch with no commits, while other
    /// branches exist: git cloned a remote whose HEAD points elsewhere.
    case noCheckedOutBranch(path: String, head: String, branches: [String])
    case alreadyAVault(path: String)
    case insideVault(path: String, vault: String)
    case existingHistory(path: String)
    case detachedHead
    /// `resolve` with no merge waiting for it.
    case noMergePending
    /// `resolve ID` for an id the waiting merge has no conflict for.
    case notInConflict(id: String)
    /// `sync` with no remote to name, or several and none chosen.
    case noRemote(known: [String])
    /// A remote that is a path on this machine names nothing there.
    case remoteMissing(remote: String, path: String)
    /// The remote branch no longer holds the commit this clone fetched last (a force-push).
    case remoteRewritten(remote: String, had: String, now: String)
    /// The other history shares no commit with this one.
    case unrelatedHistories(source: String)
    /// git is in the middle of a merge, rebase or the like in this clone.
    case gitOperationInProgress(String)

    case notFound(id: String)
    case noSecrets(under: Prefix)
    case alreadyExists(id: String)
    /// None of the identities given is a reader of this file (at `revision`, if given).
    case notReadable(id: String, revision: String?)
    /// The sealed file fails to parse or authenticate: altered or damaged.
    case damaged(id: String, cause: AgeError)
    /// The sealed file is bound to another id (moved or copied by hand).
    case boundToOtherID(id: String, boundTo: String)
    case missingBinding(id: String)
    case noSuchRevision(id: String, revision: String)
    /// A revision git cannot resolve, for commands about the whole vault.
    case noSuchVaultRevision(revision: String)
    case deletedAt(id: String, revision: String)
    case symlinkInVault(path: String)
    /// A directory, FIFO, socket or device stands where a sealed file goes.
    case notARegularFile(path: String)
    /// A file (or FIFO, socket, device) stands where a scope directory goes.
    case notADirectory(path: String)
    /// A path a work tree must never hold (`..`, `.git`, a control
    /// character), as a hand-made tree can carry: nothing is written there.
    case unsafePath(path: String)
    /// A sealed file, or a value to seal, over the size coffer reads.
    case tooLarge(id: String, bytes: Int, limit: Int)

    case noRecipients(scope: Scope)
    case tooManyReaders(scope: Scope, count: Int, limit: Int)
    case invalidRecipientsFile(path: String, line: Int)
    /// A key of a kind coffer cannot seal for (`ssh-rsa`), or a malformed
    /// SSH key; `reason` quotes only public input.
    case invalidReader(String)
    /// The same, met on a line of a `.recipients` file.
    case unsupportedReaderInFile(path: String, line: Int, reason: String)
    case uncommittedRecipients(path: String)
    case alreadyReads(reader: String, scopes: [Scope])
    case notAReader(reader: String, scope: Scope?)
    /// A directory without its own `.recipients` (its readers come from above).
    case notAScope(Scope, inheritsFrom: Scope)
    /// Removing this reader would leave these scopes without readers.
    case onlyReader(reader: String, scopes: [Scope])
    case ambiguousReader(name: String, keys: [String])
    /// The name now labels another key than the one this clone accepted under it.
    case relabelledReader(name: String, key: String, scope: Scope)
    /// Sealing would grant or take away access this clone has not accepted
    /// (a `.recipients` line that came with a pull): nothing was written.
    case unacceptedReaders([UnacceptedReader])
    /// The accepted readers changed between showing and accepting them.
    case acceptanceChanged
    case invalidAcceptedReaders(path: String, line: Int)
    /// A trust file in the history is too big to be coffer's (held back unread).
    case trustFileTooLarge(path: String)
    /// HEAD has no `.signers` (or an empty one): nothing to pin.
    case noSignersToPin
    /// `signers init` in a vault that already has signers.
    case signersExist
    /// This clone's `.git/coffer/trust` cannot be read (line 0: a field is missing).
    case invalidTrustState(path: String, line: Int)
    /// HEAD no longer contains the newest commit this clone verified: the
    /// history was rewritten (a force-push), perhaps onto a new root.
    case historyRewritten(verified: String, head: String)
    /// None of the identity's keys reads any scope of this vault.
    case noKeyReadsVault

    case identityMissing(path: String)
    /// An OpenSSH private key sealed with its own passphrase (bcrypt-pbkdf
    /// and AES, which libsodium lacks).
    case sshKeyEncrypted(path: String)
    /// An identity file that holds no key coffer can use; `reason` never quotes it.
    case invalidIdentityFile(path: String, reason: String)
    /// An SSH key used as the identity: coffer does not rewrite, rotate or re-protect it.
    case sshIdentityNotManaged(path: String)
    /// An identity file holding an age plugin's keys: coffer does not rewrite it.
    case pluginIdentityNotManaged(path: String)
    case identityExists(path: String)
    case identityTooOpen(path: String, mode: UInt32)
    case wrongPassphrase(path: String)
    /// The public-key sidecar does not name the identity's keys: edited, or
    /// replaced (perhaps to pass someone else's key off as the user's).
    case identitySidecarMismatch(sidecar: String, identity: String)
    case identityCount(path: String, count: Int)
    /// `<identity>.signing` cannot be used: not sealed to this identity,
    /// damaged, or not an OpenSSH ed25519 key (`reason` never quotes it).
    case invalidSigningKey(path: String, reason: String)

    /// A `.signers` line coffer does not accept (`reason` quotes public text only).
    case invalidSignersFile(path: String, line: Int, reason: String)
    /// `.coffer-config` holds a line that is not a known `key = value`.
    case invalidConfig(path: String, line: Int)
    /// `.signers` in the work tree is not the one HEAD records.
    case uncommittedSigners(path: String)
    /// A signer's name or key that cannot go into `.signers`.
    case invalidSigner(reason: String)
    case alreadySigner(name: String, fingerprint: String)
    case notASigner(String)
    /// Removing this signer would leave `.signers` naming no one.
    case lastSigner(String)
    /// `.signers` changed between planning a change and committing it.
    case signersChanged
    /// `.coffer-config` in the work tree is not the one HEAD records.
    case uncommittedConfig(path: String)
    /// `.coffer-config` changed between planning a change and committing it.
    case configChanged
    /// A change of `.coffer-config` would be committed unsigned (no key to
    /// sign with): refused, as no clone would trust it.
    case unsignedConfigChange

    case locked(waitedSeconds: Int)
    /// Another process (a git command, an editor's git integration) held the
    /// index lock at `path` for the whole wait; nothing was committed.
    case gitIndexLocked(path: String, waitedSeconds: Int)
    /// Another git process (gc, pack-refs) held the branch's lock file for
    /// all of the wait.
    case gitLocked(lockFile: String, waitedSeconds: Double)
    /// The file system holding the vault (at `path`) refused a write: full,
    /// over quota, read-only, or not writable for this user.
    case storage(StorageProblem, path: String)
    /// A plan with risks was applied without being confirmed.
    case unconfirmed([Risk])
    case file(FileError)
    /// `.git/coffer/tokens` (or its key) is not as coffer wrote it; line 0: the key.
    case corruptTokens(line: Int)
    case invalidTokenName(String)
    /// A token for no prefix at all (the CLI asks for `--scope /` to mean every id).
    case invalidTokenScope
    case invalidTokenLifetime
    case tokenExists(name: String)
    case noSuchToken(name: String)
    /// `.git/coffer/idempotency` is not as coffer wrote it.
    case corruptIdempotencyStore(line: Int)
    /// Another `coffer serve` holds this clone's idempotency keys.
    case idempotencyStoreBusy
    /// More idempotency keys within 24 hours than the store keeps.
    case idempotencyStoreFull

    /// Something in the work tree coffer neither reads nor writes through:
    /// a link, or a file of the wrong type (`Paths.obstacle`).
    var isObstacle: Bool {
        switch self {
        case .symlinkInVault, .notARegularFile, .notADirectory, .unsafePath: return true
        default: return false
        }
    }

    /// One line for a person; names ids, paths and scopes, never values.
    public var description: String {
        switch self {
        case .invalidID(let id, let reason): return "invalid secret id \(Text.quoted(id)): \(reason)"
        case .invalidScope(let scope, let reason): return "invalid scope \(Text.quoted(scope)): \(reason)"
        case .looksLikeSecretKey(let what): return "\(what) looks like a secret key; it is not shown"
        case .notAbsolute(let path): return "\(Text.quoted(path)) is not an absolute path"
        case .notAVault(let path): return "\(Text.shown(path)) is not inside a coffer vault"
        case .remoteNotAVault: return "the remote holds no coffer vault (no .recipients at the root of its branch); nothing was cloned"
        case .noCheckedOutBranch(let path, let head, let branches):
            return "\(Text.shown(path)) is a clone with no checked-out branch (HEAD names \(head), which has no commits; the remote has \(branches.joined(separator: ", ")))"
        case .alreadyAVault(let path): return "\(Text.shown(path)) is already a coffer vault"
        case .insideVault(let path, let vault): return "\(Text.shown(path)) is inside the vault \(Text.shown(vault))"
        case .existingHistory(let path): return "\(Text.shown(path)) is a git repository with history but no .recipients"
        case .gitOperationInProgress(let what): return "git is in the middle of \(what) in this vault; coffer writes nothing until it is finished"
        case .detachedHead: return "the vault's HEAD is detached; a commit here would be lost at the next checkout"
        case .noMergePending: return "no merge is waiting for conflicts to be settled"
        case .remoteRewritten(let remote, let had, let now):
            return "\(remote) was rewritten: it no longer holds \(had.prefix(12)), which this clone fetched before (now \(now.prefix(12))); nothing was merged"
        case .remoteMissing(let remote, let path):
            return remote == path ? "\(Text.quoted(path)) does not exist" : "remote \(Text.quoted(remote)) is \(Text.quoted(path)), which does not exist"
        case .unrelatedHistories(let source): return "\(source) shares no history with this vault; nothing was merged"
        case .notInConflict(let id): return "\(Text.quoted(id)) is not in conflict in the waiting merge"
        case .noRemote(let known):
            return known.isEmpty ? "the vault has no remote" : "the vault has several remotes (\(known.joined(separator: ", "))) and none is this branch's upstream"
        case .notFound(let id): return "no secret \(id)"
        case .noSecrets(let prefix): return "no secrets under \(prefix)"
        case .alreadyExists(let id): return "\(id) already exists"
        case .notReadable(let id, let revision):
            return "\(id)\(revision.map { " at \($0)" } ?? ""): cannot decrypt: none of your identities is a reader of this secret"
        case .damaged(let id, let cause): return "\(id): cannot decrypt: the sealed file is damaged or was altered (\(cause))"
        case .boundToOtherID(let id, let other):
            return "\(id): sealed file is bound to \(other); it was moved or copied by hand"
        case .missingBinding(let id): return "\(id): sealed file has no coffer binding; it was not written by coffer"
        case .noSuchRevision(let id, let revision): return "\(id): no revision \(Text.quoted(revision))"
        case .noSuchVaultRevision(let revision): return "no revision \(Text.quoted(revision)) in this vault"
        case .deletedAt(let id, let revision): return "\(id) does not exist at \(revision)"
        case .symlinkInVault(let path): return "\(Text.shown(path)) in the vault is a symbolic link; coffer does not read or write through links"
        case .notARegularFile(let path): return "\(Text.shown(path)) in the vault is not a regular file; coffer does not write over it"
        case .notADirectory(let path): return "\(Text.shown(path)) in the vault is not a directory; coffer does not write below it"
        case .unsafePath(let path):
            return "\(Text.shown(path)) is no path a work tree may hold (a .git, . or .. part, a control character); coffer writes nothing there"
        case .tooLarge(let id, let bytes, let limit): return "\(id) is \(bytes) bytes; coffer reads secrets up to \(limit) bytes"
        case .noRecipients(let scope): return "scope \(scope) has no recipients"
        case .tooManyReaders(let scope, let count, let limit):
            return "scope \(scope) would have \(count) readers; a secret is sealed for at most \(limit)"
        case .invalidRecipientsFile(let path, let line): return "\(Text.shown(path)) line \(line) is not a recipient (age1… or ssh-ed25519 …)"
        case .invalidReader(let reason): return reason
        case .unsupportedReaderInFile(let path, let line, let reason): return "\(Text.shown(path)) line \(line): \(reason)"
        case .uncommittedRecipients(let path):
            return "\(Text.shown(path)) has changes that are not committed; coffer seals only for the readers in the vault's history"
        case .alreadyReads(let reader, let scopes): return "\(Text.shown(reader)) already reads \(Text.list(scopes))"
        case .notAReader(let reader, let scope): return "\(Text.shown(reader)) is not a reader of \(scope.map(\.description) ?? "any scope")"
        case .notAScope(let scope, let parent): return "\(scope) has no .recipients of its own; its readers come from \(parent)"
        case .onlyReader(let reader, let scopes):
            return "\(Text.shown(reader)) is the only reader of \(Text.list(scopes)); a scope must keep at least one reader"
        case .ambiguousReader(let name, let keys): return "\(keys.count) different keys are named \(Text.shown(name))"
        case .relabelledReader(let name, let key, let scope):
            return "in \(scope), \(Text.shown(name)) now labels \(key), not the key this clone accepted under that name; nothing was removed"
        case .noKeyReadsVault: return "none of your keys reads a scope of this vault"
        case .unacceptedReaders(let readers):
            return "not done: this clone has not accepted " + readers.map(\.summary).joined(separator: "; ")
        case .acceptanceChanged: return "the readers changed since they were shown (a pull or another coffer process); nothing was accepted"
        case .invalidAcceptedReaders(let path, let line): return "\(Text.shown(path)) line \(line) is not a scope, key and name"
        case .trustFileTooLarge(let path): return "\(Text.shown(path)) is too big to be a trust file coffer wrote"
        case .signersExist: return "the vault already has a .signers"
        case .noSignersToPin: return "the vault has no signers to pin: its .signers is missing or empty"
        case .invalidTrustState(let path, let line):
            return line == 0 ? "\(Text.shown(path)) lacks its pinned, verified or signing line" : "\(Text.shown(path)) line \(line) cannot be read"
        case .historyRewritten(let verified, let head):
            return "the vault's history was rewritten: HEAD (\(head.prefix(12))) no longer contains commit \(verified.prefix(12)), "
                + "which this clone verified; nothing is trusted past it"
        case .identityMissing(let path): return "no identity at \(Text.shown(path))"
        case .sshKeyEncrypted(let path):
            return "\(Text.shown(path)) is an OpenSSH key protected by its own passphrase, which coffer cannot open (bcrypt-pbkdf and AES)"
        case .invalidIdentityFile(let path, let reason): return "\(Text.shown(path)): \(reason)"
        case .pluginIdentityNotManaged(let path):
            return "\(Text.shown(path)) holds keys of an age plugin; coffer uses it as it is and does not rewrite, rotate or re-protect it"
        case .sshIdentityNotManaged(let path):
            return "\(Text.shown(path)) is an SSH key; coffer uses it as it is and does not rewrite, rotate or re-protect it"
        case .identityExists(let path): return "an identity already exists at \(Text.shown(path))"
        case .identityTooOpen(let path, let mode):
            return "identity \(Text.shown(path)) is readable by others (mode \(String(mode & 0o777, radix: 8)))"
        case .wrongPassphrase(let path): return "wrong passphrase for identity file \(Text.shown(path))"
        case .identitySidecarMismatch(let sidecar, let identity):
            return "\(Text.shown(sidecar)) does not name the public key of identity \(Text.shown(identity))"
        case .identityCount(let path, let count): return "\(Text.shown(path)) holds \(count) identities; expected one"
        case .invalidSigningKey(let path, let reason): return "signing key \(Text.shown(path)) cannot be used: \(reason)"
        case .invalidSignersFile(let path, let line, let reason): return "\(Text.shown(path)) line \(line): \(reason)"
        case .invalidConfig(let path, let line): return "\(Text.shown(path)) line \(line) is not `signing = on` or `signing = off`"
        case .uncommittedSigners(let path):
            return "\(Text.shown(path)) has changes that are not committed; coffer trusts only the signers in the vault's history"
        case .invalidSigner(let reason): return reason
        case .alreadySigner(let name, let fingerprint): return "\(Text.quoted(name)) is already a signer with key \(fingerprint)"
        case .notASigner(let who): return "\(Text.quoted(who)) is not in .signers"
        case .lastSigner(let who): return "\(Text.quoted(who)) is the only signer; .signers must keep at least one"
        case .signersChanged: return ".signers changed since this change was planned (another coffer process or a pull); nothing was written"
        case .uncommittedConfig(let path):
            return "\(Text.shown(path)) has changes that are not committed; coffer follows only the settings in the vault's history"
        case .configChanged:
            return ".coffer-config changed since this change was planned (another coffer process or a pull); nothing was written"
        case .unsignedConfigChange:
            return "a change of .coffer-config must be signed, and there is no signing key to sign it with; nothing was written"
        case .locked(let seconds): return "the vault is locked by another coffer process (waited \(seconds) s)"
        case .gitIndexLocked(let path, let seconds):
            return "\(Text.shown(path)) is held by another git process (waited \(seconds) s); nothing was written"
        case .gitLocked(let lockFile, let seconds):
            let waited = seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)"
            return "the vault's branch is locked by another git process (git gc or pack-refs, perhaps): "
                + "\(Text.shown(lockFile)) was held for all of the \(waited) s coffer waited"
        case .storage(let problem, let path):
            switch problem {
            case .noSpace: return "no space left on device for the vault at \(Text.shown(path))"
            case .quotaExceeded: return "disk quota exceeded for the vault at \(Text.shown(path))"
            case .readOnly: return "the vault is on a read-only file system (\(Text.shown(path))); coffer cannot write to it"
            case .permissionDenied: return "permission denied writing to the vault at \(Text.shown(path))"
            }
        case .unconfirmed(let risks): return "not confirmed: " + risks.map(\.description).joined(separator: "; ")
        case .file(let error): return error.description
        case .corruptTokens(let line):
            return line == 0 ? "this host's token key (.git/coffer/token-key) is damaged"
                : "this host's token list (.git/coffer/tokens) is damaged at line \(line)"
        case .invalidTokenName(let name): return "invalid token name \(Text.quoted(name)): letters, digits, '.', '_' and '-', at most 64"
        case .invalidTokenScope: return "a token needs at least one prefix (/ for every id)"
        case .invalidTokenLifetime: return "a token's lifetime is 1 second to \(AccessToken.longestLifetime) seconds"
        case .tokenExists(let name): return "a token named \(Text.quoted(name)) exists already"
        case .noSuchToken(let name): return "no token named \(Text.quoted(name))"
        case .corruptIdempotencyStore(let line):
            return "this host's idempotency keys (.git/coffer/idempotency) are damaged at line \(line); remove the file to start afresh"
        case .idempotencyStoreBusy: return "another coffer serve is serving this clone (.git/coffer/idempotency.lock is held)"
        case .idempotencyStoreFull: return "too many idempotency keys in the last 24 hours (\(IdempotencyStore.capacity))"
        }
    }
}

/// Something a change would do that the user should agree to first. The
/// library never asks: a plan lists its risks, the front end asks, and
/// `confirm()` records the answer.
public enum Risk: Equatable, Sendable, CustomStringConvertible {
    /// Afterwards none of your keys reads these scopes (sealing there,
    /// removing yourself, adopting a `.recipients` that leaves you out).
    case youWouldNotRead([Scope])

    /// What the user is asked to agree to.
    public var description: String {
        switch self {
        case .youWouldNotRead(let scopes): return "you will not be able to read the secrets of \(Text.list(scopes)) afterwards"
        }
    }
}

/// Text from outside (ids, revisions, names) as it may appear in a message.
enum Text {
    /// Quotes user input, escaping control and non-ASCII bytes so a hostile
    /// id cannot forge terminal output; a pasted key or a value after `=` is
    /// not shown (`Redaction`).
    static func quoted(_ text: String) -> String {
        let text = Redaction.shown(text)
        var out = "\""
        for byte in text.utf8.prefix(300) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\"): out.append(Character(UnicodeScalar(byte)))
            default: out += "\\x" + hex(CollectionOfOne(byte))
            }
        }
        return out + (text.utf8.count > 300 ? "…\"" : "\"")
    }

    /// User input shown unquoted (paths, reader names): a pasted key or a
    /// value after `=` is not shown (`Redaction`).
    static func shown(_ text: String) -> String { Redaction.shown(text) }

    /// Refuses key-shaped `text` given as `what`, before anything is touched.
    static func refuseSecretKey(_ text: String, as what: String) throws {
        if Redaction.looksLikeSecretKey(text) { throw VaultError.looksLikeSecretKey(what: what) }
    }

    static func list(_ scopes: [Scope]) -> String { scopes.map(\.description).joined(separator: ", ") }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 { Hex.encode(Array(bytes)) }
}
