import ArgumentParser
import CofferKit
import Posix
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
        subcommands: [List.self, Add.self, Remove.self, Pin.self, Init.self, Status.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Show each signer: its name, key and fingerprint.")

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                let signers = try vault.signers()
                // What the chain of trust believes, beside what the file says.
                let status = try vault.trustStatus()
                func trusted(_ signer: Signer) -> String {
                    guard status.pinned != nil else { return "not pinned" }
                    return status.signers.contains { $0.name == signer.name && $0.key == signer.key && $0.options == signer.options } ? "yes" : "no"
                }
                let table = Table(["NAME", "FINGERPRINT", "TRUSTED", "KEY", "OPTIONS"], rows: signers.map {
                    [.string($0.name), .string($0.fingerprint), .string(trusted($0)), .string($0.key.authorizedKey), .optional($0.options)]
                })
                let records = signers.map { signer -> Value in
                    guard case .record(var fields) = Value.signer(signer) else { return Value.signer(signer) }
                    fields.append("trusted", .string(trusted(signer)))
                    return .record(fields)
                }
                try Renderer.print(Output(["signers": .list(records)], table: table), as: output, command: "signers list")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
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

extension SignersCommand {
    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin",
            abstract: "Make the vault's .signers this clone's root of trust, after you looked at it.",
            discussion: """
                A fresh clone trusts no signer until this is done: it shows each signer's name and \
                fingerprint and asks (or takes --yes). With --signer FPR, only the keys named are \
                pinned, without asking: compare fingerprints with your team out of band. Later \
                changes to .signers, .recipients and .coffer-config count only when a pinned (or \
                since trusted) signer signed them. Re-pinning after a history rewrite accepts it.
                """
        )

        @Option(name: .customLong("signer"), help: ArgumentHelp("Pin only this key (its SHA256:… fingerprint); repeatable.", valueName: "FPR"))
        var fingerprints: [String] = []

        @Flag(name: .shortAndLong, help: "Pin every signer shown without asking.")
        var yes = false

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                try SignersCommand.pin(try options.vault(), fingerprints: fingerprints, yes: yes, required: true)
            }
        }
    }

    /// Shows HEAD's signers and pins them (or those `fingerprints` name).
    /// Without a terminal, --signer or --yes nothing is pinned: an error
    /// when `required`, else a warning.
    static func pin(_ vault: Vault, fingerprints: [String], yes: Bool, required: Bool) throws {
        let candidate = try vault.pinCandidate()
        if candidate.rewritesVerified {
            Console.warning("the vault's history was rewritten since this clone verified it; pinning accepts the new history")
        }
        Console.info("the vault's signers at commit \(candidate.commit.prefix(12)):")
        for signer in candidate.signers { Console.info("  \(TerminalText.escape(signer.name)) \(signer.fingerprint)") }
        if fingerprints.isEmpty && !yes {
            guard Files.isTerminal(0), Files.isTerminal(2) else {
                let hint = "compare the fingerprints above with your team's, then run `coffer signers pin --signer FPR` (or --yes)"
                if required { throw CommandFailure("not pinned: nothing was changed", hint: hint) }
                Console.warning("this clone trusts no signer yet: reader and signer changes others push are held back; \(hint)")
                return
            }
            let answer = try PassphraseSource.readLine(prompt: "Trust these signers in this clone? [y/N] ", echo: true)
            guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed; nothing was pinned") }
        }
        let pinned = try vault.pin(candidate, only: fingerprints.isEmpty ? nil : fingerprints)
        let names = pinned.map { TerminalText.escape($0.name) }.joined(separator: ", ")
        Console.info("pinned \(pinned.count) signer\(pinned.count == 1 ? "" : "s") (\(names)) as this clone's root of trust")
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Start signed history in a vault made before it: one commit writing .signers with you.",
            discussion: "History before that commit shows as unsigned; reader changes before it count as this clone accepted them."
        )

        @Option(help: "The name you sign as (default: your identity's name, or $USER).")
        var name: String?

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                let settings = options.settings
                guard let key = try settings.identitySigner() else { throw VaultError.identityMissing(path: settings.store.path) }
                let signer = try Signer(name: name ?? VaultSettings.locator.userName ?? Signer.defaultName, key: key.publicKey)
                let outcome = try vault.initializeSigners(signer)
                Console.info("wrote .signers with \(TerminalText.escape(signer.name)) (\(signer.fingerprint)) and pinned it in this clone")
                Console.reportPending(outcome)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show this clone's chain of trust: the pinned root, the signers trusted now, and held-back changes."
        )

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let status = try options.vault().trustStatus()
                if let pinned = status.pinned, let verified = status.verified {
                    Console.info("root of trust pinned at \(pinned.prefix(12)), history judged up to \(verified.prefix(12)); signing \(status.signing ? "on" : "off")")
                    Console.info("trusted signers: " + status.signers.map { "\(TerminalText.escape($0.name)) \($0.fingerprint)" }.joined(separator: ", "))
                } else {
                    Console.warning("this clone has pinned no signers: run `coffer signers pin`")
                }
                let held = status.held.map { change -> Value in
                    .record(["commit": .string(change.commit.hex), "reason": .string(change.reason.description),
                             "files": .list(change.paths.map(Value.string))])
                }
                let table = Table(["COMMIT", "FILES", "HELD BACK BECAUSE"], rows: status.held.map {
                    [.string(String($0.commit.hex.prefix(12))), .string($0.paths.joined(separator: " ")), .string($0.reason.description)]
                })
                try Renderer.print(Output(["pinned": .optional(status.pinned), "verified": .optional(status.verified),
                                           "signing": .string(status.signing ? "on" : "off"),
                                           "signers": .list(status.signers.map(Value.signer)), "held": .list(held)], table: table),
                                   as: output, command: "signers status")
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
