import ArgumentParser
import Age
import CofferKit
import Posix

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a vault: a git repository whose root .recipients and .signers name you.",
        discussion: "Creates an identity first if you have none (protect it later with `coffer identity passwd`)."
    )

    @Argument(help: ArgumentHelp("Directory to make a vault (default: the current directory).", valueName: "DIR"))
    var directory: String = "."

    @Option(help: "Your name in .recipients, .signers and commits (default: $USER).")
    var name: String?

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let locator = VaultSettings.locator
            let root = locator.absolute(directory)
            try Vault.checkCanCreate(at: root)
            let store = options.store
            var identityName = name
            // The creator signs as this name in .signers: refused now, before anything is created.
            try Signer.checkName(name ?? locator.userName ?? Signer.defaultName)
            if !store.exists {
                let identity = X25519Identity.generate()
                identityName = identityName ?? locator.userName
                try store.create(identity, name: identityName, passphrase: nil, workFactor: EncryptJob.workFactor)
                Console.info("created identity \(store.path) (public key \(identity.recipient.encoded))")
            }
            let identities = try options.identities()
            guard let reader = identities.lazy.compactMap(ReaderKey.of).first else {
                throw CommandFailure("the identity \(TerminalText.escape(store.path)) does not say which reader it is, so no vault can be made for it")
            }
            let me = NamedRecipient(recipient: reader, name: identityName ?? locator.userName)
            guard let key = try options.settings.identitySigner() else { throw VaultError.identityMissing(path: store.path) }
            let signer = try Signer(name: me.name ?? Signer.defaultName, key: key.publicKey)
            let vault = try Vault.create(at: root, readers: [me], signers: [signer],
                                         configuration: Vault.Configuration(lockTimeout: locator.lockTimeout, authorName: identityName,
                                                                            audit: try VaultSettings.auditLog()),
                                         commitSigner: CommitSigner(signer: signer.description) { try key.sign($0, CommitSigner.namespace) })
            let hook = try GitIntegration.configure(vault, executable: Executable.path)
            Console.info("initialised vault \(vault.root), readable by \(me.recipient.encoded)")
            SetupCommand.report(hook)
        }
    }
}
