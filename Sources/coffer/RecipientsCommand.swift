import ArgumentParser
import Age
import CofferKit
import Posix

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Manage who can read a scope (the .recipients of a directory).",
        subcommands: [List.self, Add.self, Remove.self, Accept.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Show each scope, its readers and how many secrets they read.")

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                var rows: [Value] = []
                var table = Table(["SCOPE", "SECRETS", "NAME", "FINGERPRINT", "KEY"])
                for summary in try vault.readerSummary() {
                    let count = summary.secretCount
                    for reader in summary.readers {
                        table.rows.append([.string(summary.scope.description), .int(count), .optional(reader.name),
                                           .string(reader.fingerprint), .string(reader.recipient.encoded)])
                    }
                    rows.append(.record(["scope": .string(summary.scope.directory), "secrets": .int(count),
                                         "readers": .list(summary.readers.map(Value.reader))]))
                }
                try Renderer.print(Output(["scopes": .list(rows)], table: table), as: output, command: "recipients list")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a reader to scopes and re-wrap their secrets for them (payloads unchanged), in one commit.",
            discussion: "Without --scope or --all-scopes the reader is added to the root scope (/)."
        )

        @Argument(help: "The reader's public key (age1…).")
        var key: String

        @Option(help: "A name for the reader, written beside the key.")
        var name: String?

        @Option(help: ArgumentHelp("A scope directory (repeatable; / is the root).", valueName: "DIR"))
        var scope: [String] = []

        @Flag(help: "Add the reader to every scope of the vault.")
        var allScopes = false

        @OptionGroup var options: VaultOptions

        func validate() throws {
            if allScopes && !scope.isEmpty { throw ValidationError("--scope and --all-scopes exclude each other") }
        }

        func run() throws {
            try Console.run {
                let (recipient, comment) = try ReaderKey.parse(line: key)
                let name = self.name ?? comment
                let vault = try options.vault()
                let scopes = allScopes ? nil : try (scope.isEmpty ? [Scope.root] : scope.map(Scope.init))
                let plan = try vault.planAddReader(NamedRecipient(recipient: recipient, name: name), to: scopes)
                let identities = try options.identities()
                let outcome = try ProgressLine.around("re-wrapping") { progress in
                    try vault.apply(plan, identities: identities, progress: progress)
                }
                let names = plan.readers.map(\.scope.description).joined(separator: ", ")
                Console.info("added \(TerminalText.escape(name ?? recipient.encoded)) to \(names); re-wrapped \(Plural.secrets(outcome.written.count))")
                Console.reportPending(outcome)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove a reader and re-key the secrets they could read, in one commit.",
            discussion: """
                Every secret the reader could read gets a fresh data key and is re-encrypted \
                for the remaining readers. The reader still knows the values they could read: \
                their ids are printed on standard output (a table, or under "exposed" with -o json|yaml) \
                so they can be rotated. Without --scope the reader leaves every scope that lists them.
                """
        )

        @Argument(help: "The reader: a public key (age1…) or the name beside it.")
        var reader: String

        @Option(help: ArgumentHelp("A scope directory (repeatable; / is the root).", valueName: "DIR"))
        var scope: [String] = []

        @Flag(name: .shortAndLong, help: "Do it even if you will not be able to read the secrets afterwards.")
        var yes = false

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let selector = try ReaderSelector(reader)
                let vault = try options.vault()
                let scopes = scope.isEmpty ? nil : try scope.map(Scope.init)
                let identities = try options.identities()
                var plan = try vault.planRemoveReader(selector, from: scopes, me: options.myKeys(loaded: identities))
                try Confirm.risks(of: &plan, yes: yes)
                let outcome = try ProgressLine.around("re-keying") { progress in
                    try vault.apply(plan, identities: identities, progress: progress)
                }
                let removed = plan.removedReaders, exposed = outcome.exposed
                let who = TerminalText.escape(removed.map { $0.name ?? $0.recipient.encoded }.joined(separator: ", "))
                let names = plan.readers.map(\.scope.description)
                if output == .table {
                    Console.info("removed \(who) from \(names.joined(separator: ", ")); re-keyed \(Plural.secrets(outcome.rekeyed.count))")
                    if !exposed.isEmpty {
                        Console.info("\(who) could read \(Plural.secrets(exposed.count)) and may still know their values; "
                                     + "change those values (coffer set ID) — re-keying alone does not:")
                    }
                }
                let document: Record = [
                    "removed": .list(removed.map(Value.reader)),
                    "scopes": .strings(plan.readers.map(\.scope.directory)),
                    "rekeyed": .int(outcome.rekeyed.count),
                    "exposed": .strings(exposed.map(\.value)),
                    "commit": .optional(outcome.commit),
                ]
                let table = Table(["ID"], rows: exposed.map { [.string($0.value)] })
                try Renderer.print(Output(document, table: table), as: output, command: "recipients rm")
                Console.reportPending(outcome)
            }
        }
    }
}

extension RecipientsCommand {
    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept",
            abstract: "Accept readers this clone has not agreed to yet (lines that came with a pull).",
            discussion: """
                coffer seals only for the readers this clone accepted: at init, through its own \
                recipients add|rm, or here. A .recipients line pushed by someone else is refused \
                by set, rotate, verify --fix and recipients add until it is accepted. This shows \
                each reader gained or lost, with the commit and author that changed it, and asks \
                (or takes --yes). Without --scope, every scope.
                """
        )

        @Option(help: ArgumentHelp("Only this scope directory and those below it (/ is the root).", valueName: "DIR"))
        var scope: String?

        @Flag(name: .shortAndLong, help: "Accept without asking (after you looked at the change).")
        var yes = false

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let scope = try self.scope.map(Scope.init)
                let vault = try options.vault()
                let shown = try vault.unacceptedReaders(in: scope)
                guard !shown.isEmpty else {
                    Console.info("nothing to accept: the readers of \(scope?.description ?? "every scope") are the ones this clone accepted")
                    return
                }
                for reader in shown { Console.info("  " + reader.summary) }
                if !yes {
                    guard Files.isTerminal(0), Files.isTerminal(2) else {
                        throw CommandFailure("not accepted: nothing was changed", hint: "look at the changes above, then pass --yes to accept them")
                    }
                    let answer = try PassphraseSource.readLine(prompt: "Accept these readers in this clone? [y/N] ", echo: true)
                    guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed; nothing was accepted") }
                }
                let accepted = try vault.acceptReaders(in: scope, shown: shown)
                Console.info("accepted \(accepted.count) change\(accepted.count == 1 ? "" : "s") of readers in this clone")
            }
        }
    }
}

enum Plural {
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
    static func secrets(_ n: Int) -> String { count(n, "secret") }
}

extension Value {
    static func reader(_ reader: NamedRecipient) -> Value {
        .record(["key": .string(reader.recipient.encoded), "name": .string(reader.name ?? ""), "fingerprint": .string(reader.fingerprint)])
    }
}
