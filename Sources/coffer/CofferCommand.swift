import ArgumentParser
import CofferKit

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
            InitCommand.self, IdentityCommand.self, SetCommand.self, GetCommand.self, ListCommand.self,
            RmCommand.self, MvCommand.self, HistoryCommand.self, LogCommand.self, RollbackCommand.self,
            RestoreCommand.self, DiffCommand.self, RecipientsCommand.self, RotateCommand.self, VerifyCommand.self, SetupCommand.self, AgeCommand.self, TextconvCommand.self,
        ]
    )

    static func main() {
        guard let job = FastPath.parse(Array(CommandLine.arguments.dropFirst())) else {
            var command = parseAsRootOrExit()
            do { try command.run() } catch { exit(withError: error) }
            return
        }
        do {
            switch job {
            case .encrypt(let encrypt): try encrypt.run()
            case .decrypt(let decrypt): try decrypt.run()
            case .get(let get): try get.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Parses, or exits: help and version as ArgumentParser prints them, and
    /// command-line errors in coffer's one voice (exit 64).
    private static func parseAsRootOrExit() -> ParsableCommand {
        do {
            return try parseAsRoot()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid command line"
            Console.error(message.prefix(1).lowercased() + message.dropFirst())
            Console.hint("see `coffer \(CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") } ?? "") --help`")
            exit(withError: ExitCode.validationFailure)
        }
    }
}
