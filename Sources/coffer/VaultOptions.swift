import ArgumentParser
import Age
import CofferKit

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
    func identities() throws -> [X25519Identity] { try settings.identities() }
    func identitiesIfPresent() throws -> [X25519Identity] { try settings.identitiesIfPresent() }
}

/// The parsed values of `VaultOptions`, also built by the start-up fast path.
struct VaultSettings: Equatable {
    var vaultPath: String?
    var identityPath: String?
    var passphraseFile: String?

    func vault() throws -> Vault { try Vault.locate(explicit: vaultPath) }

    var store: IdentityStore { IdentityStore.resolve(explicit: identityPath) }

    /// The user's identities; asks for the passphrase only if the file has one.
    func identities() throws -> [X25519Identity] {
        let source = PassphraseSource(file: passphraseFile)
        let store = self.store
        return try store.load { try source.read(prompt: "Passphrase for identity \(store.path): ") }
    }

    /// Like `identities()`, but an absent identity is no error (writers can seal without one).
    func identitiesIfPresent() throws -> [X25519Identity] {
        store.exists ? try identities() : []
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
}
