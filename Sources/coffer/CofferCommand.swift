import ArgumentParser
import CofferKit
import Posix
import CrashPosture

@main
struct CofferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coffer",
        abstract: "A git-friendly encrypted-file vault.",
        discussion: """
            Exit codes: 0 success, 1 an operation failed (the message says why), \
            64 the command line was invalid.
            """,
        version: Coffer.version,
        subcommands: [
            InitCommand.self, IdentityCommand.self, SetCommand.self, GetCommand.self, GenerateCommand.self, ListCommand.self,
            RmCommand.self, MvCommand.self, HistoryCommand.self, LogCommand.self, RollbackCommand.self,
            RestoreCommand.self, DiffCommand.self, RecipientsCommand.self, SignersCommand.self, ConfigCommand.self, ExportCommand.self, ImportCommand.self, RenderCommand.self, RotateCommand.self, VerifyCommand.self, SetupCommand.self, AuditCommand.self, AgentCommand.self, AgeCommand.self, TextconvCommand.self, RestoreClipboardCommand.self,
            ExecCommand.self, MergeDriverCommand.self, ResealCommand.self, ConflictsCommand.self, ResolveCommand.self,
            RemoteCommand.self, CloneCommand.self, SyncCommand.self, UICommand.self, TokenCommand.self, ServeCommand.self,
        ]
    )

    static func main() {
        // Before anything is read: no core, no ptrace or /proc/PID/mem for peers, no crash report.
        CrashPosture.harden()
        PhaseTimings.begin()
        let typed = Array(CommandLine.arguments.dropFirst())
        // The fast path first, on the line as typed: reshaping it reads every
        // command's configuration, which costs `get` about half a millisecond.
        // A line the fast path takes is one reshaping would leave as it is.
        var arguments = typed
        var fast = FastPath.parse(typed)
        if fast == nil {
            arguments = CommandLineShape.normalize(typed)
            fast = FastPath.parse(arguments)
        }
        PhaseTimings.mark("parse")
        guard let job = fast else {
            var command = parseAsRootOrExit(arguments)
            PhaseTimings.mark("argument-parser")
            do { try command.run() } catch { exit(withError: error) }
            return
        }
        do {
            switch job {
            case .encrypt(let encrypt): try encrypt.run()
            case .decrypt(let decrypt): try decrypt.run()
            case .get(let get): try get.run()
            case .set(let set): try set.run()
            case .exec(let exec): try exec.run()
            case .render(let render): try render.run()
            case .mergeDriver(let merge): try merge.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Parses, or exits: help and version as ArgumentParser prints them, and
    /// command-line errors in coffer's one voice (exit 64), with a hint that
    /// names a command that exists.
    private static func parseAsRootOrExit(_ arguments: [String]) -> ParsableCommand {
        let (commands, names, next) = CommandLineShape.commandPath(arguments)
        let group = commands.last!
        if let refusal = PastedKeys.refusal(in: arguments, command: names) {
            Console.error(refusal)
            Console.hint("a private key belongs in an identity file, never on the command line")
            exit(withError: ExitCode.validationFailure)
        }
        // Groups take no positional arguments: a word after one is a mistyped
        // command, even before `--help` (which would show the group's help).
        if let typed = next, !typed.hasPrefix("-"), typed != "help", !group.configuration.subcommands.isEmpty {
            reportUnknownCommand(typed, in: names, candidates: CommandLineShape.subcommandNames(of: group))
            exit(withError: ExitCode.validationFailure)
        }
        do {
            return try parseAsRoot(arguments)
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let full = TerminalText.redacted(message(for: error), typed: arguments)
            var message = full.split(separator: "\n").first.map(String.init) ?? "invalid command line"
            if message.hasSuffix(".") { message.removeLast() }
            // "Missing value…" reads "missing value…"; an acronym ("INPUT is…") stays as it is.
            let acronym = message.dropFirst().first?.isUppercase ?? false
            Console.error(acronym ? message : message.prefix(1).lowercased() + message.dropFirst())
            Console.hint("see `\((["coffer"] + names).joined(separator: " ")) --help`")
            exit(withError: ExitCode.validationFailure)
        }
    }

    private static func reportUnknownCommand(_ typed: String, in names: [String], candidates: [String]) {
        let parent = (["coffer"] + names).joined(separator: " ")
        Console.error("unknown command \(TerminalText.quoted(typed))")
        if names.isEmpty, CommandSuggestion.planned.contains(typed) {
            Console.hint("`coffer \(typed)` does not exist yet in coffer \(Coffer.version); see `coffer --help` for the commands it has")
        } else if let nearest = CommandSuggestion.nearest(to: typed, in: candidates) {
            Console.hint("did you mean '\(nearest)'?")
        } else {
            Console.hint("`\(parent)` has no command \(TerminalText.quoted(typed)); see `\(parent) --help` for the commands it has")
        }
    }
}
