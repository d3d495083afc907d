#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show a secret: masked by default, the exact value with --reveal."
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Flag(help: "Print the exact value (asks first on a terminal unless --yes).")
    var reveal = false

    @Flag(name: .shortAndLong, help: "Do not ask before revealing.")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @Option(name: .customLong("at"), help: ArgumentHelp("A past version: \(revisionHelp).", valueName: "REV"))
    var revision: String?

    @OptionGroup var options: VaultOptions

    var job: GetJob {
        GetJob(id: id, reveal: reveal, yes: yes, output: output, revision: revision, settings: options.settings)
    }

    func run() throws { try job.run() }
}

/// What `coffer get` does once its arguments are known, whichever parser
/// (ArgumentParser or the start-up fast path) produced them.
struct GetJob: Equatable {
    var id: String
    var reveal = false
    var yes = false
    var output: OutputFormat = .table
    var revision: String?
    var settings = VaultSettings()

    func run() throws {
        try Console.run {
            let options = settings
            let id = try SecretID(id)
            let vault = try options.vault()
            let identities = try options.identities()
            let value: SecureBytes
            do {
                value = try vault.read(id, at: revision, identities: identities)
            } catch VaultError.notFound(let missing) where revision == nil && missing == id.value {
                throw GetJob.notFound(id, in: vault)
            }
            #if DEBUG
            GetJob.crashIfTestAsks(holding: value)
            #endif
            if reveal {
                try Confirm.reveal(id.value, yes: yes)
                try vault.recordReveal(.get, ids: [id], at: revision)
            }
            let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            switch output {
            case .json, .yaml:
                var document: Record = ["id": .string(id.value), "bytes": .int(value.count)]
                if reveal { document.append("value", .secret(value)) }
                try out.write(Renderer.render(Output(document, table: nil), as: output, command: "get"))
            case .table:
                // Not a table: the product itself. Masked, the one line docs/CLI.md shows;
                // revealed, the exact bytes for pipes (on a terminal, the prompt kept off the value's line).
                if reveal {
                    try value.withUnsafeBytes { try out.write($0) }
                    if Files.isTerminal(STDOUT_FILENO) { try out.write("\n") }
                } else {
                    try out.write("\(id)  ******** (\(value.count) byte\(value.count == 1 ? "" : "s"))\n")
                }
            }
        }
    }

    #if DEBUG
    /// A real fault (or with `abort`, an abort()) with the decrypted value in
    /// hand, for the tests of what a crash shows.
    static func crashIfTestAsks(holding value: SecureBytes) {
        guard let how = getenv("COFFER_TEST_CRASH_AFTER_READ") else { return }
        if String(cString: how) == "abort" { abort() }
        let first = value.withUnsafeBytes { $0.first ?? 0 }
        let nowhere = UnsafePointer<UInt8>(bitPattern: 16 + Int(first & 1))!
        print(nowhere.pointee)
    }
    #endif

    /// "no secret ID", with the way back when the vault's history shows it was removed.
    static func notFound(_ id: SecretID, in vault: Vault) -> Error {
        let error = VaultError.notFound(id: id.value)
        guard let last = try? vault.history(of: id).first, last.change == .deleted, last.id == id else { return error }
        return CommandFailure(error.description, hint: "it was removed in \(last.commit.prefix(8)); bring it back with "
                              + "`coffer restore \(id)` (its versions: `coffer history \(id)`)")
    }
}
