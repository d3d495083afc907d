#if canImport(Glibc)
import Glibc
#endif
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

    @Option(name: .shortAndLong, help: "Output format: table, json or yaml.")
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
                for id in ids {
                    do {
                        values[id] = try vault.read(id, identities: identities)
                    } catch VaultError.notReadable {
                        unreadable.insert(id)  // listed, marked; one unreadable secret must not hide the rest
                    }
                }
                if !unreadable.isEmpty { Console.hint("\(unreadable.count) of the secrets are not readable by your identity") }
            }
            let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            switch output {
            case .table:
                var text = ""
                for id in ids {
                    text += id.value
                    if let value = values[id] { text += "  " + JSONValue.secret(value).rendered }
                    if unreadable.contains(id) { text += "  (not readable by you)" }
                    text += "\n"
                }
                try out.write(text)
            case .json:
                let rows = ids.map { id -> JSONValue in
                    var fields: [(String, JSONValue)] = [("id", .string(id.value))]
                    if let value = values[id] { fields.append(("value", .secret(value))) }
                    if unreadable.contains(id) { fields.append(("readable", .bool(false))) }
                    return .object(fields)
                }
                try out.write(JSONValue.object([("secrets", .array(rows))]).rendered + "\n")
            case .yaml:
                var text = ids.isEmpty ? "secrets: []\n" : "secrets:\n"
                for id in ids {
                    text += "  - id: \(JSONValue.string(id.value).rendered)\n"
                    if let value = values[id] { text += "    value: \(JSONValue.secret(value).rendered)\n" }
                    if unreadable.contains(id) { text += "    readable: false\n" }
                }
                try out.write(text)
            }
        }
    }
}
