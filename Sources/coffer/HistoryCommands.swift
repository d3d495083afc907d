import ArgumentParser
import Age
import CofferKit
import Posix

/// The revision syntax every history command accepts, for their help texts.
let revisionHelp = "a version of the secret (v1 is the oldest, as `coffer history` numbers them) or a git revision (a commit id or prefix, HEAD~2, a tag)"

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List every version of one secret, newest first, following renames.",
        discussion: "Each version shows its number (vN), commit, date, author, action and whether the value or only the wrapping changed."
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let id = try SecretID(id)
            let versions = try options.vault().history(of: id)
            guard !versions.isEmpty else { throw VaultError.notFound(id: id.value) }
            let out = FileDescriptorSink(fd: 1, name: "standard output")
            switch output {
            case .json, .yaml:
                let rows = versions.map { v -> JSONValue in
                    .object([("version", .number(v.number)), ("id", .string(v.id.value)), ("commit", .string(v.commit)),
                             ("date", .string(Dates.iso8601(Int(v.time)))), ("author", .string(v.author)),
                             ("action", .string(v.action)), ("change", .string(v.change.rawValue))])
                }
                try out.write(JSONValue.object([("id", .string(id.value)), ("versions", .array(rows))]).rendered + "\n")
            case .table:
                var text = ""
                for v in versions {
                    let renamed = v.id == id ? "" : "  (as \(v.id))"
                    text += "v\(v.number)  \(v.commit.prefix(8))  \(Dates.iso8601(Int(v.time)))  \(v.author)  \(v.action)  \(v.change.rawValue)\(renamed)\n"
                }
                try out.write(text)
            }
        }
    }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List the vault's changes, newest first, with the ids each touched (never values)."
    )

    @Argument(help: "Only changes to ids under this prefix.")
    var prefix: String = ""

    @Option(name: .shortAndLong, help: "At most this many changes.")
    var number: Int?

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let entries = try options.vault().log(try Prefix(prefix), limit: number ?? Int.max)
            let out = FileDescriptorSink(fd: 1, name: "standard output")
            switch output {
            case .json, .yaml:
                let rows = entries.map { e -> JSONValue in
                    .object([("commit", .string(e.commit)), ("date", .string(Dates.iso8601(Int(e.time)))),
                             ("author", .string(e.author)), ("action", .string(e.action)), ("ids", .array(e.ids.map { .string($0) }))])
                }
                try out.write(JSONValue.object([("changes", .array(rows))]).rendered + "\n")
            case .table:
                try out.write(entries.map {
                    "\($0.commit.prefix(8))  \(Dates.iso8601(Int($0.time)))  \($0.author)  \($0.action)  \($0.ids.joined(separator: " "))\n"
                }.joined())
            }
        }
    }
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make an earlier value current again, as a new version sealed for today's readers."
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Option(name: .customLong("to"), help: ArgumentHelp("The version to bring back: \(revisionHelp).", valueName: "REV"))
    var revision: String

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let id = try SecretID(id)
            let outcome = try options.vault().rollback(id, to: revision, identities: try options.identities())
            Console.info(outcome.written.isEmpty ? "unchanged \(id) (already that value)" : "rolled back \(id) to \(revision)")
            Console.reportPending(outcome)
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring back a removed secret (its last value, or --at REV), sealed for today's readers."
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Option(name: .customLong("at"), help: ArgumentHelp("Restore this version instead of the last: \(revisionHelp).", valueName: "REV"))
    var revision: String?

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let id = try SecretID(id)
            let outcome: ChangeOutcome
            do {
                outcome = try options.vault().restore(id, at: revision, identities: try options.identities())
            } catch VaultError.alreadyExists(let existing) where existing == id.value {
                throw CommandFailure(VaultError.alreadyExists(id: existing).description,
                                     hint: "use `coffer rollback \(id) --to REV` to bring back an earlier value")
            }
            Console.info("restored \(id)")
            Console.reportPending(outcome)
        }
    }
}
