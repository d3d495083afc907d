import ArgumentParser
import Age
import CofferKit

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Which secrets were added, changed, re-wrapped or removed.",
        discussion: """
            coffer diff            the work tree against HEAD
            coffer diff REV        the work tree against REV
            coffer diff REV1 REV2  REV1 against REV2
            Values only with --reveal (asks first on a terminal unless --yes).
            """
    )

    @Argument(help: "Revisions (commit ids, HEAD~N, tags).")
    var revisions: [String] = []

    @Flag(help: "Also show old and new values of changed secrets.")
    var reveal = false

    @Flag(name: .shortAndLong, help: "Do not ask before revealing.")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if revisions.count > 2 { throw ValidationError("give at most two revisions") }
    }

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let differences = try vault.differences(from: revisions.first, to: revisions.count == 2 ? revisions[1] : nil)
            var identities: [Identity] = []
            if reveal && !differences.isEmpty {
                try Confirm.reveal("the values of \(differences.count) changed secrets", yes: yes)
                identities = try options.identities()
            }
            func value(_ file: [UInt8]?, _ id: SecretID) -> Value? {
                guard reveal, let file else { return nil }
                return (try? Sealing.open(file, id: id, identities: identities)).map(Value.secret) ?? .string("(not readable by you)")
            }
            var table = Table(reveal ? ["CHANGE", "ID", "OLD", "NEW"] : ["CHANGE", "ID"])
            let rows = differences.map { d -> Value in
                var row: Record = ["id": .string(d.id.value), "change": .string(d.kind.rawValue)]
                let old = value(d.old, d.id), new = value(d.new, d.id)
                if let old { row.append("old", old) }
                if let new { row.append("new", new) }
                table.rows.append([.string(d.kind.rawValue), .string(d.id.value)] + (reveal ? [old ?? .null, new ?? .null] : []))
                return .record(row)
            }
            try Renderer.print(Output(["differences": .list(rows)], table: table), as: output, command: "diff")
        }
    }
}

struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Set up this clone of a vault: the git diff driver that shows sealed files readably.",
        discussion: "`coffer init` does this for new vaults; run it once in every fresh `git clone` of a vault."
    )

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            try GitIntegration.configure(vault, executable: GitIntegration.currentExecutable)
            Console.info("git diff, git log -p and git show in \(vault.root) now show sealed files as id, readers and payload digest")
        }
    }
}

/// The git textconv driver: prints a sealed file as text for `git diff`.
/// Values appear only if COFFER_DIFF_REVEAL=1 and the identity opens without a passphrase.
struct TextconvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "textconv", abstract: "git diff driver (internal).", shouldDisplay: false)

    @Argument(help: "The file git passes.")
    var file: String

    func run() throws {
        try Console.run {
            let bytes = try Files.read(path: file)
            let vault = try? Vault.locate(explicit: nil)
            var value: SecureBytes?
            if Environment.value("COFFER_DIFF_REVEAL") == "1",
               let identities = try? IdentityStore.resolve(explicit: nil).load(passphrase: { throw CommandFailure("no prompt in a diff driver") }),
               let id = Sealing.boundID(of: bytes).flatMap({ try? SecretID($0) }) {
                value = try? Sealing.open(bytes, id: id, identities: identities)
            }
            try FileDescriptorSink(fd: 1, name: "standard output").write(GitIntegration.describe(bytes, vault: vault, value: value))
        }
    }
}
