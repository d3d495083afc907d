import CofferKit
import GitStore

/// The CLI's advice for library refusals, printed as `coffer: hint: …`.
/// The library names what went wrong; only the front end knows its commands.
enum Hints {
    static func `for`(_ error: VaultError) -> String? {
        switch error {
        case .identityTooOpen(let path, _): return "chmod 600 \(path)"
        case .sshKeyEncrypted(let path):
            return "make a coffer identity of it, protected by coffer's passphrase: coffer identity import --ssh \(TerminalText.escape(path))"
        case .identityMissing: return "create one with `coffer identity new`, or name an existing one with --identity FILE or COFFER_IDENTITY"
        case .notAVault: return "run `coffer init`, or pass --vault DIR"
        case .remoteNotAVault: return "a vault reaches its remote with `coffer init`, `coffer remote add origin URL` and `coffer sync`; clone it after that"
        case .noCheckedOutBranch(let path, _, let branches):
            let branch = branches.first { $0.hasSuffix("/main") } ?? branches.first { $0.hasSuffix("/master") } ?? branches[0]
            let local = branch.split(separator: "/", maxSplits: 1).last.map(String.init) ?? branch
            return "check out the vault's branch: git -C \(path) checkout \(local)"
        case .existingHistory: return "coffer init needs a new or empty repository"
        case .gitOperationInProgress:
            return "finish it (resolve, then git commit / git rebase --continue) or abort it (git merge --abort, git rebase --abort), then try again"
        case .remoteRewritten(let remote, let had, _):
            return "someone force-pushed \(remote); find out why (git log \(had.prefix(12)) shows what it held); "
                + "to merge the new history all the same: git fetch, then coffer sync"
        case .remoteMissing(let remote, let path) where remote == path:
            return "check the path: a vault's bare repository, or a clone of it"
        case .remoteMissing(let remote, _):
            return "fix it with git remote set-url \(remote) URL, or remove it (coffer remote rm \(remote)); `git init --bare PATH` makes a new one"
        case .unrelatedHistories:
            return "check the remote's URL (coffer remote list): it holds another vault"
        case .noMergePending: return "`coffer sync` brings in the remote's changes; `coffer conflicts` lists what waits"
        case .notInConflict: return "`coffer conflicts` lists the ids in conflict"
        case .noRemote(let known):
            return known.isEmpty ? "add one: coffer remote add origin URL" : "name one: coffer sync REMOTE"
        case .detachedHead: return "check out the vault's branch first (git switch BRANCH; `git branch` lists them)"
        case .noSuchRevision(let id, _): return "see `coffer history \(id)` for its versions (v1, v2…) or use a commit id"
        case .noSuchVaultRevision: return "see `coffer log` for the vault's commits"
        case .uncommittedRecipients(let path):
            return "review and commit it (git add \(path) && git commit), or restore it (git checkout -- \(path))"
        case .insideVault: return "a vault cannot be nested in another; use a scope (a directory with its own .recipients) instead"
        case .locked: return "another coffer process is writing this vault; try again (COFFER_LOCK_TIMEOUT sets the wait)"
        case .gitIndexLocked(let path, _):
            return "wait for the other git process (a git command, an editor's git integration) to finish and try again; "
                + "if none is running, the lock is stale: remove \(path)"
        case .gitLocked(let lockFile, _):
            return "wait for that git command to finish and try again (COFFER_LOCK_TIMEOUT sets the wait); "
                + "if no git process is running (one may have crashed), remove \(lockFile)"
        case .storage(.noSpace, let path), .storage(.quotaExceeded, let path):
            return "free some space there (`df -h \(path)` shows what is left), then run the command again; nothing was lost"
        case .storage(.readOnly, _):
            return "remount it read-write (or work in a writable clone), then run the command again"
        case .storage(.permissionDenied, let path):
            return "check who owns \(path) and its .git (ls -ld), and run coffer as that user"
        case .boundToOtherID: return "restore the file with git, or move secrets with `coffer mv`"
        case .symlinkInVault(let path), .notARegularFile(let path), .notADirectory(let path):
            return "move \(path) out of the vault (`git log -- \(path)` shows which commit put it there), then try again"
        case .unsafePath:
            return "a tree made by hand (git itself refuses to check it out) holds it: ask whoever pushed it to replace that commit; nothing here changed"
        case .notAScope(_, let parent): return "remove the reader there: --scope \(parent)"
        case .onlyReader(_, let scopes):
            return "add another reader to \(scopes.map(\.description).joined(separator: ", ")) first, "
                + "or leave it out with --scope DIR for each scope to remove the reader from (see `coffer recipients list`)"
        case .unacceptedReaders(let readers): return readers.first.map(accept)
        case .acceptanceChanged: return "run `coffer recipients accept` again and look at what it shows"
        case .ambiguousReader: return "name the reader by its key (age1…)"
        case .relabelledReader: return "see `coffer recipients list` and `coffer verify`; remove the reader by its key (age1…)"
        case .notAReader: return "see `coffer recipients list`"
        case .noKeyReadsVault: return "see `coffer recipients list`"
        case .notReadable: return "a reader of its scope can add your key (`coffer identity show` prints it) with `coffer recipients add`"
        case .damaged(let id, _): return "see `coffer verify` and `coffer history \(id)`; an earlier version can be restored with rollback"
        case .identitySidecarMismatch:
            return "if you did not change it, someone else may have; check it, then remove it (`coffer identity show` writes it again from your key)"
        case .uncommittedSigners(let path):
            return "review and commit it (git add \(path) && git commit), or restore it (git checkout -- \(path))"
        case .invalidSignersFile:
            return "each line is NAME [namespaces=\"…\"] ssh-ed25519 KEY (OpenSSH allowed_signers); fix the line and commit it"
        case .invalidSigningKey:
            return "if it belongs to another identity, move it aside: coffer makes a new signing key on first need (then `coffer signers add` it)"
        case .notASigner: return "see `coffer signers list`"
        case .historyRewritten:
            return "if you rewrote it yourself (a rebase, an amend) or agreed to a force-push, `coffer signers pin` shows the signers "
                + "and accepts the new history; otherwise reset to the verified commit (git reset --hard ID) and ask who pushed"
        case .noSignersToPin, .signersExist: return "see `coffer signers list` and `coffer signers status`"
        case .lastSigner: return "add another signer first (`coffer signers add KEY --name NAME`)"
        case .signersChanged: return "look at the change (git log -p .signers), then run the command again"
        case .uncommittedConfig(let path):
            return "restore it (git checkout -- \(path)) and change settings with `coffer config`, which commits and signs the change"
        case .invalidConfig:
            return "`coffer config signing on|off` writes the file anew, in a signed commit"
        case .unsignedConfigChange: return "run it where your identity is (--identity FILE or COFFER_IDENTITY)"
        case .configChanged: return "look at the change (git log -p .coffer-config), then run the command again"
        default: return nil
        }
    }

    /// The CLI's advice for a bundle refused or not made.
    static func `for`(_ error: BundleError) -> String? {
        switch error {
        case .conflicts: return "see them with --dry-run; --merge keeps the values here, --replace takes the bundle's"
        case .untrustedSigner(_, let claimed):
            return "if you trust its owner, add their signing key (`coffer identity show` prints it, last line): "
                + "coffer signers add 'ssh-ed25519 …' --name \(claimed), or trust it for this import only with --signer KEY"
        case .older: return "see what it would change with --dry-run; if this older bundle is what you want, --allow-older imports it"
        case .unsigned: return "import it only if you know where it came from: --allow-unsigned"
        case .notForYou: return "ask for a bundle made --to your key (`coffer identity show` prints it)"
        case .fromTheFuture: return "check the clock of the machine that made it, and of this one"
        case .unreadable: return "--skip-unreadable leaves them out (and names them)"
        default: return nil
        }
    }

    /// For a value dotenv cannot quote safely for a shell (`export`, `render`).
    static let unquotableInDotenv = "write it as JSON or YAML, or hand it to the program with `coffer exec`"

    /// What to do about a reader this clone has not accepted.
    static func accept(_ reader: UnacceptedReader) -> String {
        let look = reader.introducedBy.map { "git show \($0.commit.prefix(12))" } ?? "git diff"
        let who = reader.reader.name.map { TerminalText.escape($0) } ?? reader.reader.recipient.encoded
        let undo = reader.change == .added ? "`coffer recipients rm \(who) --scope \(reader.scope)`"
            : "`coffer recipients add \(reader.reader.recipient.encoded) --scope \(reader.scope)`"
        let revert = reader.introducedBy.map { "`git revert \($0.commit.prefix(12))`" } ?? "`git checkout -- .`"
        return "look at the change (\(look)); if it is right, `coffer recipients accept --scope \(reader.scope)`; "
            + "if not, undo it: \(revert), or \(undo)"
    }

    /// Advice for what opening the vault had to leave (`Vault.notices`).
    static func `for`(_ notice: VaultNotice) -> String {
        switch notice {
        case .indexPending(let lock):
            return "if no git process is running, remove \(lock) and run any coffer command, which updates the index; "
                + "do not `git commit` before that"
        case .foreignLockLeft(let path):
            return "if no git process is running, it is stale: remove \(path)"
        }
    }
}

extension Hints {
    /// Advice for what a transfer (sync, clone) met.
    static func `for`(_ error: GitError) -> String? {
        switch error {
        case .unknownHostKey:
            return "check this fingerprint with the host's owner; if it matches, add the key (ssh-keyscan HOST >> ~/.ssh/known_hosts, "
                + "or a file named in COFFER_SSH_KNOWN_HOSTS) and sync again"
        case .hostKeyMismatch:
            return "the host's key is not the one known_hosts records: someone may be in between; do not go on until the host's owner "
                + "confirms the new key"
        case .authenticationFailed:
            return "ssh: load your key into the agent (ssh-add) or use an unencrypted ~/.ssh/id_ed25519; "
                + "http(s): set up a git credential helper (git config credential.helper …)"
        case .pushRejected:
            return "the remote refused the update (a hook, a protected branch, or it kept moving): coffer sync again once it allows it"
        case .remoteNotFound:
            return "coffer remote list shows the remotes; coffer remote add NAME URL adds one"
        case .destinationNotEmpty:
            return "clone into a new or empty directory"
        case .call(let function, _, _) where function.hasPrefix("git_remote_") || function.hasPrefix("git_clone"):
            return "check the remote's URL (coffer remote list) and that it is reachable"
        default:
            return nil
        }
    }
}
