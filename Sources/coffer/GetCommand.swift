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

    @Flag(help: "Put the value on the clipboard (wl-copy, xclip or xsel) instead of printing it.")
    var copy = false

    @Option(name: .customLong("clear-after"),
            help: ArgumentHelp("With --copy: seconds until the clipboard gets back what it held before, unless it changed "
                               + "meanwhile (default \(ClipboardCopy.defaultClearAfter); 0 never).", valueName: "SECONDS"))
    var clearAfter: Int?

    @OptionGroup var options: VaultOptions

    var job: GetJob {
        GetJob(id: id, reveal: reveal, yes: yes, output: output, revision: revision, settings: options.settings,
               copy: copy, clearAfter: clearAfter ?? ClipboardCopy.defaultClearAfter)
    }

    func validate() throws {
        if copy && reveal { throw ValidationError("--copy and --reveal exclude each other") }
        if copy && output != .table { throw ValidationError("--copy prints nothing; it cannot be given -o \(output.rawValue)") }
        if clearAfter != nil && !copy { throw ValidationError("--clear-after goes with --copy") }
        if let clearAfter, !ClipboardCopy.clearAfterRange.contains(clearAfter) {
            throw ValidationError("--clear-after takes 0 to \(ClipboardCopy.clearAfterRange.upperBound) seconds")
        }
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
    /// `--copy`, which only ArgumentParser parses (the fast path leaves it).
    var copy = false
    var clearAfter = ClipboardCopy.defaultClearAfter

    func run() throws {
        try Console.run {
            let options = settings
            let id = try SecretID(id)
            // Before the value is read: no passphrase asked for a copy that cannot be made.
            let clipboard = copy ? try Clipboard.find() : nil
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
            if let clipboard {
                try vault.recordReveal(.copy, ids: [id], at: revision)
                try ClipboardCopy.copy(value, to: clipboard, clearAfter: clearAfter)
                Console.info("copied \(id) to the clipboard; "
                             + (clearAfter > 0 ? "its previous contents come back in \(clearAfter) s" : "it stays there (--clear-after 0)"))
                return
            }
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
                // revealed, the exact bytes for pipes.
                if reveal {
                    try GetJob.writeRevealed(value)
                } else {
                    try out.write("\(id)  ******** (\(value.count) byte\(value.count == 1 ? "" : "s"))\n")
                }
            }
        }
    }

    /// The exact bytes of a revealed value on standard output, the product
    /// for pipes; on a terminal a newline after it keeps the prompt off its line.
    static func writeRevealed(_ value: SecureBytes) throws {
        let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
        try value.withUnsafeBytes { try out.write($0) }
        if Files.isTerminal(STDOUT_FILENO) { try out.write("\n") }
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
