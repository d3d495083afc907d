import ArgumentParser
import Age
import AgeSSH
import CofferKit
import CofferLocator
import Posix

/// Options every vault command shares: which vault, which identity, and how
/// to get the identity's passphrase if it has one.
struct VaultOptions: ParsableArguments {
    @Option(name: .customLong("vault"), help: ArgumentHelp("The vault directory (default: $COFFER_VAULT, else the enclosing vault).", valueName: "DIR"))
    var vaultPath: String?

    @Option(name: .customLong("identity"), help: ArgumentHelp("Identity file (default: $COFFER_IDENTITY, else ~/.config/coffer/identity).", valueName: "FILE"))
    var identityPath: String?

    @OptionGroup var passphrase: PassphraseOptions

    var settings: VaultSettings {
        VaultSettings(vaultPath: vaultPath, identityPath: identityPath, passphraseFile: passphrase.file)
    }

    func vault() throws -> Vault { try settings.vault() }
    var store: IdentityStore { settings.store }
    func identities() throws -> [Identity] { try settings.identities() }
    func identitiesIfPresent() throws -> [Identity] { try settings.identitiesIfPresent() }
    func identitiesIfDefaultAbsent() throws -> [Identity] { try settings.identitiesIfDefaultAbsent() }
    func myKeys(loaded: [Identity] = []) -> Set<ReaderKey>? { settings.myKeys(loaded: loaded) }
}

/// The parsed values of `VaultOptions`, also built by the start-up fast path.
struct VaultSettings: Equatable {
    var vaultPath: String?
    var identityPath: String?
    var passphraseFile: String?

    /// The environment and current directory, read here and nowhere else.
    static let locator = Locator()

    func vault() throws -> Vault {
        let locator = VaultSettings.locator
        let vault = try Vault.open(containing: locator.vaultDirectory(explicit: vaultPath),
                                   configuration: Vault.Configuration(lockTimeout: locator.lockTimeout, authorName: locator.userName,
                                                                      audit: try VaultSettings.auditLog()))
        vault.onAcceptanceSeeded = VaultSettings.announce
        vault.commitSigner = commitSigner()
        vault.plugins = CommandPlugins.batch
        for notice in vault.notices {
            Console.warning(notice.description)
            Console.hint(Hints.for(notice))
        }
        Console.reportObstacles(vault)
        return vault
    }

    /// The user's audit log, unless their settings turn it off.
    static func auditLog() throws -> AuditLog? {
        try AuditLog.forUser(settingsPath: locator.userConfigPath, directory: locator.auditDirectory)
    }

    /// Says whose readers a clone now trusts, the first time coffer needs them.
    static func announce(_ seed: AcceptanceSeed) {
        let whence = seed.source == .ownCommit
            ? "as of commit \(seed.commit.prefix(12)), the newest one coffer made in this clone; changes pulled since need `coffer recipients accept`"
            : "as HEAD (\(seed.commit.prefix(12))) names them: coffer had not written to this clone, so it trusts them on first use; check them"
        Console.info("coffer: this clone now accepts these readers, \(whence):")
        for scope in seed.scopes {
            let names = scope.readers.map { "\($0.name.map(TerminalText.escape) ?? "(unnamed)") \($0.fingerprint)" }
            Console.info("  \(scope.scope): \(names.joined(separator: ", "))")
        }
    }

    var store: IdentityStore { IdentityStore(path: VaultSettings.locator.identityPath(explicit: identityPath)) }

    /// The user's identities: the agent's, when one holds them (`agent()`);
    /// else the file's, asking for the passphrase only if the file has one,
    /// and only once per command (see `Unlocked`).
    func identities() throws -> [Identity] {
        if let held = try agentIdentities() { return held }
        return try fileIdentities()
    }

    /// The identity file's keys, opened here.
    func fileIdentities() throws -> [Identity] {
        let source = PassphraseSource(file: passphraseFile)
        let store = self.store
        if let loaded = Unlocked.identities[store.path] { return loaded }
        let loaded = try store.unlock(plugins: CommandPlugins.batch) { try source.read(prompt: "Passphrase for identity \(store.path): ") }
        Unlocked.identities[store.path] = loaded
        return loaded
    }

    /// Like `identities()`, but an absent identity is no error (writers can seal without one).
    func identitiesIfPresent() throws -> [Identity] {
        store.exists ? try identities() : []
    }

    /// For checks that must fail closed: a named identity (`--identity`,
    /// `COFFER_IDENTITY`) must exist; only the default one may be absent.
    func identitiesIfDefaultAbsent() throws -> [Identity] {
        VaultSettings.locator.identityIsNamed(explicit: identityPath) ? try identities() : try identitiesIfPresent()
    }

    /// The identities if they open without asking: the agent's, unprotected, or with
    /// `--passphrase-file`. Others are left closed (a diff never prompts).
    func identitiesWithoutPrompt() -> [Identity] {
        guard store.exists else { return [] }
        if let held = (try? agentIdentities()) ?? nil { return held }
        if passphraseFile != nil { return (try? identities()) ?? [] }
        return (try? store.unlock(plugins: CommandPlugins.batch, passphrase: { throw CommandFailure("no prompt here") })) ?? []
    }

    /// The user's public keys, for the library's "you would not read this"
    /// risks: from identities already loaded, else the identity file's
    /// public parts (no passphrase asked); nil when unknown.
    func myKeys(loaded: [Identity] = []) -> Set<ReaderKey>? {
        // A plugin identity does not say which reader it is: unknown.
        guard loaded.isEmpty else { return loaded.contains { ReaderKey.of($0) == nil } ? nil : Set(loaded.compactMap(ReaderKey.of)) }
        if let keys = store.publicKeys() { return Set(keys.map(\.reader)) }
        // A protected file seals its comments; its sidecar names the keys. An
        // SSH key's sidecar (its own .pub, or the one import wrote) names only
        // the SSH key, which is both its reader and its signing key.
        guard let keys = (try? store.sidecarPublicKeys()) ?? nil else { return nil }
        if keys.isEmpty, let ssh = try? store.signingPublicKey() { return [.sshEd25519(SSHEd25519Recipient(ssh))] }
        return Set(keys.map(\.reader))
    }
}

/// Asks on the terminal before showing secrets there; scripts (no terminal)
/// and `--yes` skip the question.
enum Confirm {
    static func reveal(_ what: String, yes: Bool) throws {
        guard !yes, Files.isTerminal(1) else { return }
        let answer = try PassphraseSource.readLine(prompt: "Show \(what) on this terminal? [y/N] ", echo: true)
        guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed", hint: "pass --yes to skip the question") }
    }

    /// Before plaintext values go to a file: asks when someone is at a
    /// terminal, unless `yes`; a script (no terminal) is not asked.
    static func write(_ what: String, inPlaintextTo path: String, yes: Bool) throws {
        guard !yes, Files.isTerminal(0), Files.isTerminal(2) else { return }
        let answer = try PassphraseSource.readLine(prompt: "Write \(what) in plaintext to \(TerminalText.escape(path))? [y/N] ", echo: true)
        guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed; nothing was written", hint: "pass --yes to skip the question") }
    }

    /// Shows a plan's risks and records the user's agreement: `--yes`, or a
    /// y at the terminal; elsewhere (a script) it is refused.
    static func risks(of plan: inout ChangePlan, yes: Bool) throws {
        guard !plan.isConfirmed else { return }
        try agree(to: plan.risks, yes: yes)
        plan.confirm()
    }

    /// The same for an import's plan.
    static func risks(of plan: inout ImportPlan, yes: Bool) throws {
        guard !plan.isConfirmed else { return }
        try agree(to: plan.risks, yes: yes)
        plan.confirm()
    }

    private static func agree(to risks: [Risk], yes: Bool) throws {
        guard !yes else { return }
        for risk in risks { Console.warning(risk.description) }
        guard Files.isTerminal(0), Files.isTerminal(2) else {
            throw CommandFailure("not done: " + risks.map(\.description).joined(separator: "; "), hint: "pass --yes if that is intended")
        }
        let answer = try PassphraseSource.readLine(prompt: "Continue? [y/N] ", echo: true)
        guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed; nothing was changed") }
    }
}
