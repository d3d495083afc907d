import ArgumentParser
import Age
import CofferKit

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Manage who can read a scope (the .recipients of a directory).",
        subcommands: [List.self, Add.self, Remove.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each scope, its readers and how many secrets they read.")

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                var rows: [Value] = []
                var table = Table(["SCOPE", "SECRETS", "NAME", "FINGERPRINT", "KEY"])
                for scope in vault.scopes() {
                    let readers = try vault.scope(ofDirectory: scope).readers
                    let count = try vault.governed(by: scope).count
                    for reader in readers {
                        table.rows.append([.string(ScopeName.of(scope)), .int(count), .optional(reader.name),
                                           .string(reader.fingerprint), .string(reader.recipient.encoded)])
                    }
                    rows.append(.record(["scope": .string(scope), "secrets": .int(count), "readers": .list(readers.map(Value.reader))]))
                }
                try Renderer.print(Output(["scopes": .list(rows)], table: table), as: output, command: "recipients list")
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
                let scopes = allScopes ? vault.scopes() : try (scope.isEmpty ? ["/"] : scope).map(ScopeName.parse)
                let plan = try vault.planAddingReader(NamedRecipient(recipient: recipient, name: name), to: scopes)
                let outcome = try ProgressLine.around("re-wrapping") { progress in
                    try vault.apply(plan.changes, action: "rewrap", identities: try options.identities(),
                                    authorName: Environment.user, progress: progress)
                }
                let names = plan.readers.keys.sorted().map(ScopeName.of).joined(separator: ", ")
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
                their ids are printed on standard output (a table, or under "exposed" with -o json|yaml) \
                so they can be rotated. Without --scope the reader leaves every scope that lists them.
                """
        )

        @Argument(help: "The reader: a public key (age1…) or the name beside it.")
        var reader: String

        @Option(help: ArgumentHelp("A scope directory (repeatable; / is the root).", valueName: "DIR"))
        var scope: [String] = []

        @Flag(help: "Do it even if you will not be able to read the secrets afterwards.")
        var yes = false

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let selector = try ReaderSelector(reader)
                let vault = try options.vault()
                let scopes = scope.isEmpty ? nil : try scope.map(ScopeName.parse)
                let (plan, removed) = try vault.planRemovingReader(selector, from: scopes)
                let identities = try options.identities()
                try UnreadableGuard.check(scopes: plan.readers, identities: identities, yes: yes)
                let outcome = try ProgressLine.around("re-keying") { progress in
                    try vault.apply(plan.changes, action: "rekey", identities: identities, authorName: Environment.user, progress: progress)
                }
                let gone = Set(removed.map(\.fingerprint))
                let exposed = outcome.written.filter { outcome.previousReaders[$0]?.contains(where: gone.contains) == true }
                let who = removed.map { $0.name ?? $0.recipient.encoded }.joined(separator: ", ")
                let names = plan.readers.keys.sorted().map(ScopeName.of)
                if output == .table {
                    Console.info("removed \(who) from \(names.joined(separator: ", ")); re-keyed \(Plural.secrets(outcome.rekeyed.count))")
                    if !exposed.isEmpty {
                        Console.info("\(who) could read \(Plural.secrets(exposed.count)) and may still know their values; rotate them:")
                    }
                }
                let document: Record = [
                    "removed": .list(removed.map(Value.reader)),
                    "scopes": .strings(plan.readers.keys.sorted()),
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

/// Scope directories as users write them (`/` or `prod/`) and as the vault
/// keeps them (`""`, `prod`).
enum ScopeName {
    static func parse(_ text: String) throws -> String {
        var dir = Substring(text)
        while dir.hasPrefix("/") { dir = dir.dropFirst() }
        while dir.hasSuffix("/") { dir = dir.dropLast() }
        if !dir.isEmpty { _ = try SecretID(String(dir)) }
        return String(dir)
    }

    static func of(_ dir: String) -> String { dir.isEmpty ? "/" : dir }
}

enum Plural {
    static func secrets(_ n: Int) -> String { "\(n) secret\(n == 1 ? "" : "s")" }
}

extension Value {
    static func reader(_ reader: NamedRecipient) -> Value {
        .record(["key": .string(reader.recipient.encoded), "name": .string(reader.name ?? ""), "fingerprint": .string(reader.fingerprint)])
    }
}
