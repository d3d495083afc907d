import ArgumentParser
import Age
import CofferKit
import Posix

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Manage who can read a scope (the .recipients of a directory).",
        subcommands: [List.self, Add.self, Remove.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each scope, its readers and how many secrets they read.")

        @Option(name: .shortAndLong, help: "Output format: table or json.")
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                var rows: [JSONValue] = []
                var text = ""
                for summary in try vault.readerSummary() {
                    let count = summary.secretCount
                    text += "\(summary.scope)  (\(count) secret\(count == 1 ? "" : "s"))\n"
                    for reader in summary.readers { text += "  \(reader.recipient.encoded)\(reader.name.map { "  # \($0)" } ?? "")\n" }
                    rows.append(.object([
                        ("scope", .string(summary.scope.directory)), ("secrets", .number(count)),
                        ("readers", .array(summary.readers.map(JSONValue.reader))),
                    ]))
                }
                let out = FileDescriptorSink(fd: 1, name: "standard output")
                try out.write(output == .table ? text : JSONValue.object([("scopes", .array(rows))]).rendered + "\n")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
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
                let recipient = try X25519Recipient(parsing: key)
                let vault = try options.vault()
                let scopes = allScopes ? nil : try (scope.isEmpty ? [Scope.root] : scope.map(Scope.init))
                let plan = try vault.planAddReader(NamedRecipient(recipient: recipient, name: name), to: scopes)
                let identities = try options.identities()
                let outcome = try ProgressLine.around("re-wrapping") { progress in
                    try vault.apply(plan, identities: identities, progress: progress)
                }
                let names = plan.readers.map(\.scope.description).joined(separator: ", ")
                Console.info("added \(name ?? recipient.encoded) to \(names); re-wrapped \(Plural.secrets(outcome.written.count))")
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
                their ids are printed on standard output (or under "exposed" with -o json) so \
                they can be rotated. Without --scope the reader leaves every scope that lists them.
                """
        )

        @Argument(help: "The reader: a public key (age1…) or the name beside it.")
        var reader: String

        @Option(help: ArgumentHelp("A scope directory (repeatable; / is the root).", valueName: "DIR"))
        var scope: [String] = []

        @Flag(name: .shortAndLong, help: "Do it even if you will not be able to read the secrets afterwards.")
        var yes = false

        @Option(name: .shortAndLong, help: "Output format: table or json.")
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
                let who = removed.map { $0.name ?? $0.recipient.encoded }.joined(separator: ", ")
                let names = plan.readers.map(\.scope.description)
                let out = FileDescriptorSink(fd: 1, name: "standard output")
                if output == .json {
                    try out.write(JSONValue.object([
                        ("removed", .array(removed.map(JSONValue.reader))),
                        ("scopes", .array(plan.readers.map { .string($0.scope.directory) })),
                        ("rekeyed", .number(outcome.rekeyed.count)),
                        ("exposed", .array(exposed.map { .string($0.value) })),
                        ("commit", outcome.commit.map(JSONValue.string) ?? .null),
                    ]).rendered + "\n")
                } else {
                    Console.info("removed \(who) from \(names.joined(separator: ", ")); re-keyed \(Plural.secrets(outcome.rekeyed.count))")
                    if !exposed.isEmpty {
                        Console.info("\(who) could read \(Plural.secrets(exposed.count)) and may still know their values; "
                                     + "change those values (coffer set ID) — re-keying alone does not:")
                        try out.write(exposed.map { $0.value + "\n" }.joined())
                    }
                }
                Console.reportPending(outcome)
            }
        }
    }
}

enum Plural {
    static func secrets(_ n: Int) -> String { "\(n) secret\(n == 1 ? "" : "s")" }
}

extension JSONValue {
    static func reader(_ reader: NamedRecipient) -> JSONValue {
        .object([("key", .string(reader.recipient.encoded)), ("name", .string(reader.name ?? "")),
                 ("fingerprint", .string(reader.fingerprint))])
    }
}
