import ArgumentParser
import Age
import CofferKit
import Posix

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List secret ids (never values, unless --show-values is confirmed)."
    )

    @Argument(help: "Only ids under this prefix (whole segments).")
    var prefix: String = ""

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @Flag(help: "Also decrypt and print every value (asks first on a terminal unless --yes).")
    var showValues = false

    @Flag(name: .shortAndLong, help: "Do not ask before showing values.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let ids = vault.list(try Prefix(prefix))
            var values: [SecretID: SecureBytes] = [:]
            var unreadable: Set<SecretID> = []
            if showValues {
                try Confirm.reveal("the values of \(ids.count) secrets", yes: yes)
                let identities = try options.identities()
                try vault.prepareReading(ids, identities: identities)
                for id in ids {
                    do {
                        values[id] = try vault.read(id, identities: identities)
                    } catch VaultError.notReadable {
                        unreadable.insert(id)  // listed, marked; one unreadable secret must not hide the rest
                    }
                }
                if !unreadable.isEmpty { Console.hint("\(unreadable.count) of the secrets are not readable by your identity") }
                if !values.isEmpty { try vault.recordReveal(.list, ids: values.keys.sorted()) }
            }
            var table = Table(showValues ? ["ID", "VALUE"] : ["ID"])
            var rows: [Value] = []
            for id in ids {
                var row: Record = ["id": .string(id.value)]
                if let value = values[id] { row.append("value", .secret(value)) }
                if unreadable.contains(id) { row.append("readable", false) }
                rows.append(.record(row))
                if showValues {
                    table.rows.append([.string(id.value), values[id].map(Value.secret) ?? "(not readable by you)"])
                } else {
                    table.rows.append([.string(id.value)])
                }
            }
            try Renderer.print(Output(["secrets": .list(rows)], table: table), as: output, command: "list")
        }
    }
}
