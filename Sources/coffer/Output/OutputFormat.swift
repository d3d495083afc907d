import ArgumentParser

/// `-o`: the output format of every command that prints records. One enum for
/// all of them; each command's document, and how the formats show it, is in
/// docs/CLI.md ("Output formats").
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case table, json, yaml

    /// The help text of every `-o FORMAT` option.
    static let help = ArgumentHelp("Output format: table, json or yaml.", valueName: "FORMAT")
}

/// A format the command cannot honour: refused, never substituted. `Console.run`
/// reports it as a command-line error (exit 64), before anything is printed.
struct FormatRefused: Error, CustomStringConvertible {
    let format: OutputFormat
    let command: String

    var description: String { "\(command) cannot print -o \(format.rawValue)" }
}
