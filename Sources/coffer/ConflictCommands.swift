import ArgumentParser
import Age
import CofferKit
import Posix

struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "The ids both sides of a sync changed, waiting for `coffer resolve`.",
        discussion: "Nothing is merged or pushed until each is settled. Both versions stay sealed in the repository; no value is shown."
    )

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let conflicts = try options.vault().conflicts(identities: options.settings.identitiesWithoutPrompt())
            try Renderer.print(SyncReportOutput.conflicts(conflicts), as: output, command: "conflicts")
            if conflicts.isEmpty, output == .table { Console.info("no merge is waiting for conflicts to be settled") }
        }
    }
}

struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Settle one conflict a sync left: keep ours, take theirs, or a new value from standard input.",
        discussion: """
            When the last conflict is settled the merge is made as one commit, sealed for the merged readers; \
            `coffer sync` then sends it.
            """
    )

    @Argument(help: "The id in conflict (or the path `coffer conflicts` shows for another file, with --ours or --theirs).",
              completion: Completion.secretIDs)
    var id: String

    @Flag(help: "Keep this clone's version.")
    var ours = false

    @Flag(help: "Take the other side's version.")
    var theirs = false

    @Flag(help: "Seal the exact bytes of standard input as the value.")
    var stdin = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func validate() throws {
        guard [ours, theirs, stdin].filter({ $0 }).count == 1 else { throw ValidationError("give one of --ours, --theirs or --stdin") }
    }

    func run() throws {
        try Console.run {
            // A path `conflicts` showed (`.recipients`, `prod/.recipients`) or an id.
            let path = id.hasSuffix(".age") || id.split(separator: "/").last?.hasPrefix(".") == true ? id : try SecretID(id).relativePath
            if stdin, SecretID(relativePath: path) == nil { throw ValidationError("--stdin gives a secret a new value; for \(id) use --ours or --theirs") }
            let vault = try options.vault()
            let identities = try options.identities()
            let resolution: Resolution = ours ? .ours : theirs ? .theirs : .value(try Files.readSecret(path: "/dev/stdin"))
            let integration = try vault.resolve(path: path, resolution, identities: identities)
            Console.info("settled \(id)")
            try Renderer.print(SyncReportOutput.integration(integration), as: output, command: "resolve")
            SyncReportOutput.advise(integration)
        }
    }
}
