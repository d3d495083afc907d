import ArgumentParser
import CofferKit
import SSHSig

struct SignersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signers",
        abstract: "Manage who may sign for the vault (.signers, OpenSSH allowed_signers format).",
        discussion: """
            .signers at the vault's root lists NAME and ssh-ed25519 KEY per line; bundles are \
            trusted when one of these keys signed them, and `ssh-keygen -Y verify -f .signers` \
            checks the same signatures. Each change is one commit, reviewed like any other.
            """,
        subcommands: [List.self, Add.self, Remove.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each signer: its name, key and fingerprint.")

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let signers = try options.vault().signers()
                let table = Table(["NAME", "FINGERPRINT", "KEY", "OPTIONS"], rows: signers.map {
                    [.string($0.name), .string($0.fingerprint), .string($0.key.authorizedKey), .optional($0.options)]
                })
                try Renderer.print(Output(["signers": .list(signers.map(Value.signer))], table: table), as: output, command: "signers list")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trust a key to sign as NAME, in one commit.",
            discussion: "KEY is an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`), as `coffer identity show` prints one."
        )

        @Argument(help: ArgumentHelp("The signer's public key: ssh-ed25519 AAAA… (one argument or several words).", valueName: "KEY"))
        var key: [String]

        @Option(help: "The name the key signs as (the principal in .signers).")
        var name: String

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let text = key.joined(separator: " ")
                if text.hasPrefix("age1") {
                    throw CommandFailure("a signer's key is an ssh-ed25519 key, not an age key",
                                         hint: "`coffer identity show` prints the signing key on its last line; age1… keys are readers (`coffer recipients add`)")
                }
                let signer = try Signer(name: name, key: try SSHEd25519PublicKey(parsingAuthorizedKey: text))
                let vault = try options.vault()
                let outcome = try vault.apply(try vault.planAddSigner(signer), identities: [])
                Console.info("added \(TerminalText.escape(signer.name)) (\(signer.fingerprint)) to .signers")
                Console.reportPending(outcome)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Stop trusting a signer, in one commit.",
            discussion: "A NAME leaves every line that lists it; a KEY (ssh-ed25519 AAAA…) removes every line with that key."
        )

        @Argument(help: ArgumentHelp("The signer: its name, or its key (ssh-ed25519 AAAA…).", valueName: "NAME|KEY"))
        var signer: [String]

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let selector = try SignerSelector(signer.joined(separator: " "))
                let vault = try options.vault()
                let plan = try vault.planRemoveSigner(selector)
                let outcome = try vault.apply(plan, identities: [])
                let removed = plan.removedSigners.map { "\(TerminalText.escape($0.name)) (\($0.fingerprint))" }.joined(separator: ", ")
                Console.info("removed \(removed) from .signers")
                Console.reportPending(outcome)
            }
        }
    }
}

extension Value {
    static func signer(_ signer: Signer) -> Value {
        .record(["name": .string(signer.name), "key": .string(signer.key.authorizedKey),
                 "fingerprint": .string(signer.fingerprint), "options": .string(signer.options ?? "")])
    }
}
