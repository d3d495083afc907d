import ArgumentParser
import Age
import CofferKit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a vault: a git repository whose root .recipients names you.",
        discussion: "Creates an identity first if you have none (protect it later with `coffer identity passwd`)."
    )

    @Argument(help: ArgumentHelp("Directory to make a vault (default: the current directory).", valueName: "DIR"))
    var directory: String = "."

    @Option(help: "Your name in .recipients and commits when creating an identity (default: $USER).")
    var name: String?

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            try Vault.checkCanCreate(at: directory)
            let store = options.store
            var identityName = name
            if !store.exists {
                let identity = X25519Identity.generate()
                identityName = identityName ?? Environment.user
                try store.create(identity, name: identityName, passphrase: nil, workFactor: EncryptJob.workFactor)
                Console.info("created identity \(store.path) (public key \(identity.recipient.encoded))")
            }
            let identities = try options.identities()
            let me = NamedRecipient(recipient: identities[0].recipient, name: identityName ?? Environment.user)
            let vault = try Vault.create(at: directory, readers: [me], authorName: identityName)
            try GitIntegration.configure(vault, executable: GitIntegration.currentExecutable)
            Console.info("initialised vault \(vault.root), readable by \(me.recipient.encoded)")
        }
    }
}
