import Age
import CofferAgent
import CofferKit
import CofferLocator
import Posix

/// What the server reads and writes with, resolved once at start: the
/// vault's root and settings, the identity's keys and a commit signer.
///
/// A server cannot ask for a passphrase, so the identity must open without
/// a prompt: the agent holding it (`coffer agent`), an unprotected file (a
/// deploy key), or `--passphrase-file`. The CLI's own loading lives in its
/// VaultSettings, which prompts at the terminal; this is its prompt-free twin.
struct ServeAccess: @unchecked Sendable {
    let root: String
    let configuration: Vault.Configuration
    let identities: [Identity]
    let signer: CommitSigner
    /// Who the audit log names before the token (the login).
    let user: String

    init(vaultPath: String?, identityPath: String?, passphraseFile: String?) throws {
        let locator = Locator()
        let audit = try AuditLog.forUser(settingsPath: locator.userConfigPath, directory: locator.auditDirectory)
        configuration = Vault.Configuration(lockTimeout: locator.lockTimeout, authorName: locator.userName, audit: audit)
        root = try Vault.open(containing: locator.vaultDirectory(explicit: vaultPath), configuration: configuration).root
        user = locator.userName ?? "unknown"
        let store = IdentityStore(path: locator.identityPath(explicit: identityPath))
        guard store.exists else {
            throw ServeFailure("there is no identity at \(store.path); coffer serve reads and signs with one",
                               hint: "pass --identity FILE, or make one with coffer identity new")
        }
        if let agent = try? AgentSession.open(socket: locator.agentSocketPath, identityPath: store.path), agent.publicKeys.signingKey != nil {
            identities = agent.identities
            signer = CommitSigner(signer: "the agent's key for \(store.path)") { try agent.sign($0, namespace: CommitSigner.namespace) }
            return
        }
        identities = try store.unlock {
            guard let passphraseFile else {
                throw ServeFailure("the identity \(store.path) is protected and coffer serve cannot ask for its passphrase",
                                   hint: "unlock it in `coffer agent`, pass --passphrase-file FILE, or serve with an unprotected deploy key")
            }
            return try Files.readFirstSecretLine(path: passphraseFile)
        }
        signer = CommitSigner(key: try store.signingKey(identities: identities))
    }
}

/// A reason the server cannot start, with what to do about it.
struct ServeFailure: Error, CustomStringConvertible {
    let description: String
    let hint: String?

    init(_ description: String, hint: String? = nil) {
        self.description = description
        self.hint = hint
    }

    /// What to do about an error that stopped the server at start.
    static func hint(for error: any Error) -> String? {
        switch error {
        case let failure as ServeFailure: return failure.hint
        case VaultError.notAVault: return "run coffer init, or pass --vault DIR"
        case VaultError.idempotencyStoreBusy: return "stop that server first, or serve another clone"
        case VaultError.wrongPassphrase: return "check the file --passphrase-file names"
        default: return nil
        }
    }
}
