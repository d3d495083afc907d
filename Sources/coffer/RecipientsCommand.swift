import ArgumentParser
import Age
import CofferKit

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Manage who can read a scope (the .recipients of a directory).",
        subcommands: [List.self, Add.self]
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
                for scope in vault.scopes() {
                    let readers = try vault.scope(ofDirectory: scope).readers
                    let count = try vault.governed(by: scope).count
                    text += "\(scope.isEmpty ? "/" : scope + "/")  (\(count) secret\(count == 1 ? "" : "s"))\n"
                    for reader in readers { text += "  \(reader.recipient.encoded)\(reader.name.map { "  # \($0)" } ?? "")\n" }
                    rows.append(.object([
                        ("scope", .string(scope)), ("secrets", .number(count)),
                        ("readers", .array(readers.map { .object([("key", .string($0.recipient.encoded)), ("name", .string($0.name ?? "")),
                                                                  ("fingerprint", .string($0.fingerprint))]) })),
                    ]))
                }
                let out = FileDescriptorSink(fd: 1, name: "standard output")
                try out.write(output == .table ? text : JSONValue.object([("scopes", .array(rows))]).rendered + "\n")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a reader to a scope and re-wrap its secrets for them (payloads unchanged), in one commit."
        )

        @Argument(help: "The reader's public key (age1…).")
        var key: String

        @Option(help: "A name for the reader, written beside the key.")
        var name: String?

        @Option(help: ArgumentHelp("The scope directory (default: the vault root).", valueName: "DIR"))
        var scope: String = ""

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let recipient = try X25519Recipient(parsing: key)
                let scopeDir = scope.hasSuffix("/") ? String(scope.dropLast()) : scope
                if !scopeDir.isEmpty { _ = try SecretID(scopeDir) }
                let vault = try options.vault()
                // The readers in force for the directory: its own file, or inherited.
                var readers = try vault.scope(ofDirectory: scopeDir).readers
                guard !readers.contains(where: { $0.recipient == recipient }) else {
                    throw CommandFailure("\(recipient.encoded) already reads \(scopeDir.isEmpty ? "/" : scopeDir)")
                }
                readers.append(NamedRecipient(recipient: recipient, name: name))
                // Every secret under the directory, except those a deeper scope governs.
                let ids = try vault.list(prefix: scopeDir).filter { try vault.scope(for: $0).directory.count <= scopeDir.count }
                let changes = [VaultChange.setReaders(scope: scopeDir, RecipientsFile(entries: readers))] + ids.map { VaultChange.rewrap($0) }
                let outcome = try vault.apply(changes, action: "rewrap", identities: try options.identities(), authorName: Environment.user)
                Console.info("added \(name ?? recipient.encoded) to \(scopeDir.isEmpty ? "/" : scopeDir); re-wrapped \(outcome.written.count) secret\(outcome.written.count == 1 ? "" : "s")")
                Console.reportPending(outcome)
            }
        }
    }
}
