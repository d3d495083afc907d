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
        subcommands: [AgeCommand.self]
    )
}
