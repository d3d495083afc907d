import ArgumentParser
import Age
import CofferKit
import Posix

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
            let locator = VaultSettings.locator
            let root = locator.absolute(directory)
            try Vault.checkCanCreate(at: root)
            let store = options.store
            var identityName = name
            if !store.exists {
                let identity = X25519Identity.generate()
                identityName = identityName ?? locator.userName
                try store.create(identity, name: identityName, passphrase: nil, workFactor: EncryptJob.workFactor)
                Console.info("created identity \(store.path) (public key \(identity.recipient.encoded))")
            }
            let identities = try options.identities()
            let me = NamedRecipient(recipient: identities[0].recipient, name: identityName ?? locator.userName)
            let vault = try Vault.create(at: root, readers: [me],
                                         configuration: Vault.Configuration(lockTimeout: locator.lockTimeout, authorName: identityName))
            try GitIntegration.configure(vault, executable: Executable.path)
            Console.info("initialised vault \(vault.root), readable by \(me.recipient.encoded)")
        }
    }
}
