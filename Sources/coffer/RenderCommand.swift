#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Fill a YAML, JSON, dotenv or text template's coffer:ID references with their values.",
        discussion: """
            In YAML and JSON a string that is exactly `coffer:ID` becomes the value; `${coffer:ID}` \
            is replaced inside any string and on any line of dotenv and text (`$${coffer:` writes \
            `${coffer:`). If any id is missing or unreadable, all of them are listed and nothing is \
            written. -o is the output file (mode 0600, written whole or not at all), not a format.
            """
    )

    @Argument(help: ArgumentHelp("The template file.", valueName: "FILE"), completion: .file())
    var file: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the result to OUT (mode 0600, whole or not at all) instead of standard output.", valueName: "OUT"))
    var output: String?

    @Option(help: ArgumentHelp("yaml, json, dotenv or text (default: from FILE's extension: .yaml/.yml, .json, .env, else text).", valueName: "FORMAT"))
    var format: ConfigFormat?

    @Flag(help: "List each reference and whether you can read it; read no value, write nothing (exit 1 if any is unreadable).")
    var check = false

    @Flag(name: .shortAndLong, help: "Do not ask before printing values on a terminal.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if check && output != nil { throw ValidationError("--check writes nothing; leave out -o") }
    }

    var job: RenderJob {
        RenderJob(file: file, output: output, format: format ?? ConfigFormat(path: file), check: check, yes: yes, settings: options.settings)
    }

    func run() throws { try job.run() }
}

extension ConfigFormat: ExpressibleByArgument {}

/// A parsed template: its references, and the document with them resolved.
protocol RenderTemplate {
    func references() throws -> [ConfigReference]
    func rendered(with values: ResolvedValues) throws -> SecureBytes
}

extension ConfigDocument: RenderTemplate {}

/// What `coffer render` does once its arguments are known (from
/// ArgumentParser or the start-up fast path): parse, list the references,
/// read them all (or report every one that fails), render, write.
struct RenderJob: Equatable {
    /// The largest template read: config files, not data.
    static let maxTemplateSize = 16 << 20

    var file: String
    var output: String?
    var format: ConfigFormat
    var check = false
    var yes = false
    var settings = VaultSettings()

    func run() throws {
        try Console.run {
            do {
                try render()
            } catch let error as ReferenceError {
                // Paths and lines quote the template's keys: escaped for the terminal.
                var message = error.description
                // Named as the user wrote it, as the other refusals of FILE are.
                if case .severalDocuments = error { message = file + message.dropFirst("the file".count) }
                throw CommandFailure(TerminalText.escape(message), hint: RenderJob.hint(for: error, in: format))
            }
        }
    }

    private func render() throws {
        // Everywhere else -o is the format: `render config.json -o json` would
        // quietly write the values to a file named json.
        if let output, ["table", "json", "yaml"].contains(output) {
            Console.error("-o \(output) would write a file named \(output); render writes FILE's own format (or --format's)")
            Console.hint("-o names the output file here; write `-o ./\(output)` for a file of that name")
            throw ExitCode.validationFailure
        }
        if let output { try OutputFile.refuseSame(output, as: file) }
        let bytes = try InputFile.read(file, limit: RenderJob.maxTemplateSize)
        let template: RenderTemplate = format == .yaml
            ? try YAMLRenderSession(template: bytes)
            : try bytes.withUnsafeBytes { try ConfigDocument(parsing: $0, format: format) }
        if case .text(let text)? = template as? ConfigDocument {
            // A YAML habit that would otherwise pass through as the literal text.
            for bare in text.bareReferences {
                Console.warning(TerminalText.escape("line \(bare.line): \(bare.key)=coffer:\(bare.id.value) is not a reference in a dotenv file; "
                                                    + "write \(bare.key)=${coffer:\(bare.id.value)}"))
            }
        }
        let references = try template.references()
        let vault = try settings.vault()
        if let output { try OutputFile.refuseInside(vault, output) }
        let identities = try settings.identities()
        if check { return try report(references, statuses: vault.status(of: references, identities: identities)) }
        if output == nil { try Confirm.reveal("the values of \(Plural.secrets(Set(references.map(\.id)).count))", yes: yes) }
        let values = try vault.resolve(references, identities: identities)
        // Recorded before rendering: rendering YAML hands every value to the
        // coffer-yaml helper. A rendering that then fails is still recorded
        // (over-reporting is acceptable, under-reporting is not), and one the
        // audit log cannot record goes no further.
        if !values.ids.isEmpty { try vault.recordReveal(.render, ids: values.ids) }
        try deliver(template.rendered(with: values))
    }

    private func deliver(_ rendered: SecureBytes) throws {
        guard let output else {
            return try rendered.withUnsafeBytes { try FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output").write($0) }
        }
        try OutputFile.write(rendered, to: output, mode: 0o600)
    }

    /// `--check`: one row per reference, in document order; exit 1 if any cannot be read.
    private func report(_ references: [ConfigReference], statuses: [SecretID: ReferenceStatus]) throws {
        let rows = references.map { reference -> [Value] in
            [.string(reference.id.value), .string(reference.location), .string((statuses[reference.id] ?? .missing).rawValue)]
        }
        try Renderer.print(Output([:], table: Table(["ID", "WHERE", "STATUS"], rows: rows)), as: .table, command: "render")
        let unreadable = Set(references.map(\.id).filter { statuses[$0] != .readable })
        guard unreadable.isEmpty else {
            throw CommandFailure("\(unreadable.count) of \(Set(references.map(\.id)).count) referenced ids cannot be read")
        }
        if references.isEmpty { Console.info("no references in \(TerminalText.escape(file))") }
    }

    private static func hint(for error: ReferenceError, in format: ConfigFormat) -> String? {
        switch error {
        case .unresolved: return "`coffer render FILE --check` lists every reference and whether you can read it"
        case .invalidReference where format == .dotenv || format == .text:
            // The bare coffer:ID form is YAML's and JSON's only.
            return "a reference is ${coffer:ID}; write $${coffer: for a literal ${coffer:"
        case .invalidReference: return "a reference is coffer:ID or ${coffer:ID}; write $${coffer: for a literal ${coffer:"
        case .unsafeInDotenv(let id, _): return "make the reference the whole value (KEY=${coffer:\(id)}) and coffer quotes it"
        case .notQuotableInDotenv: return Hints.unquotableInDotenv
        default: return nil
        }
    }
}
