#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Seal and commit secrets (one commit per invocation).",
        discussion: """
            coffer set ID=VALUE…    values on the command line (visible to other local users in ps)
            coffer set ID --stdin   the exact bytes of standard input
            coffer set ID --file F  the exact bytes of F
            coffer set ID           a masked prompt on the terminal
            Setting a secret to the value it already has writes nothing and makes no commit.
            """
    )

    @Argument(help: ArgumentHelp("ID=VALUE pairs, or one ID with --stdin, --file or a prompt.", valueName: "ID[=VALUE]"))
    var assignments: [String]

    @Flag(help: "Read the value of the single ID from standard input.")
    var stdin = false

    @Option(help: ArgumentHelp("Read the value of the single ID from FILE.", valueName: "FILE"))
    var file: String?

    @OptionGroup var options: VaultOptions

    func validate() throws {
        let bare = assignments.filter { !$0.contains("=") }
        if stdin && file != nil { throw ValidationError("--stdin and --file exclude each other") }
        if (stdin || file != nil) && (assignments.count != 1 || !bare.isEmpty == false) {
            throw ValidationError("--stdin and --file take exactly one ID (without =VALUE)")
        }
        if bare.count > 1 || (bare.count == 1 && assignments.count > 1) {
            throw ValidationError("give either ID=VALUE pairs or a single ID")
        }
        let ids = assignments.map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0] }
        if let repeated = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw ValidationError("\(repeated) is given more than once")
        }
    }

    func run() throws {
        try Console.run {
            var changes: [VaultChange] = []
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "=") else {
                    let id = try SecretID(assignment)
                    changes.append(.set(id, try readValue(for: id)))
                    continue
                }
                let id = try SecretID(String(assignment[..<eq]))
                changes.append(.set(id, SecureBytes(copying: Array(assignment[assignment.index(after: eq)...].utf8))))
            }
            let vault = try options.vault()
            // The identity is needed only to compare with values already stored.
            let existing = changes.contains { if case .set(let id, _) = $0 { return vault.contains(id) } else { return false } }
            try options.store.checkPermissions()
            let identities = existing ? try options.identitiesIfPresent() : []
            let outcome = try vault.apply(changes, action: "set", identities: identities, authorName: Environment.user)
            for id in outcome.written { Console.info("set \(id)") }
            for id in outcome.unchanged { Console.info("unchanged \(id) (same value)") }
            Console.reportPending(outcome)
        }
    }

    private func readValue(for id: SecretID) throws -> SecureBytes {
        if stdin { return try Files.readSecret(path: "/dev/stdin") }
        if let file { return try Files.readSecret(path: file) }
        guard Files.isTerminal(STDIN_FILENO) else {
            throw CommandFailure("no value for \(id)", hint: "use ID=VALUE, --stdin or --file")
        }
        let value = try PassphraseSource.readFromTerminal(prompt: "Value for \(id): ")
        guard value.count > 0 else {
            throw CommandFailure("empty value for \(id); nothing was changed", hint: "to store an empty value use --stdin < /dev/null")
        }
        let again = try PassphraseSource.readFromTerminal(prompt: "Value again: ")
        guard value.constantTimeEquals(again) else { throw CommandFailure("the two values differ; nothing was changed") }
        return value
    }
}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show a secret: masked by default, the exact value with --reveal."
    )

    @Argument(help: "The secret id.")
    var id: String

    @Flag(help: "Print the exact value (asks first on a terminal unless --yes).")
    var reveal = false

    @Flag(name: .shortAndLong, help: "Do not ask before revealing.")
    var yes = false

    @Option(name: .shortAndLong, help: "Output format: table, json or yaml.")
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
            let value: SecureBytes
            if let revision {
                value = try vault.open(id, at: revision, identities: try options.identities())
            } else {
                guard vault.contains(id) else { throw VaultError.notFound(id: id.value) }
                value = try vault.open(id, identities: try options.identities())
            }
            if reveal { try Confirm.reveal(id.value, yes: yes) }
            let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            var fields: [(String, JSONValue)] = [("id", .string(id.value)), ("bytes", .number(value.count))]
            if reveal { fields.append(("value", JSONValue.secret(value))) }
            switch output {
            case .json:
                try out.write(JSONValue.object(fields).rendered + "\n")
            case .yaml:
                try out.write(fields.map { "\($0.0): \($0.1.rendered)\n" }.joined())
            case .table:
                if reveal {
                    try value.withUnsafeBytes { try out.write($0) }
                    // Exact bytes for pipes; on a terminal, keep the prompt off the value's line.
                    if Files.isTerminal(STDOUT_FILENO) { try out.write("\n") }
                } else {
                    try out.write("\(id)  ******** (\(value.count) byte\(value.count == 1 ? "" : "s"))\n")
                }
            }
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List secret ids (never values, unless --show-values is confirmed)."
    )

    @Argument(help: "Only ids under this prefix (whole segments).")
    var prefix: String = ""

    @Option(name: .shortAndLong, help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table

    @Flag(help: "Also decrypt and print every value (asks first on a terminal unless --yes).")
    var showValues = false

    @Flag(name: .shortAndLong, help: "Do not ask before showing values.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let ids = try vault.list(prefix: prefix)
            var values: [SecretID: SecureBytes] = [:]
            var unreadable: Set<SecretID> = []
            if showValues {
                try Confirm.reveal("the values of \(ids.count) secrets", yes: yes)
                let identities = try options.identities()
                for id in ids {
                    do {
                        values[id] = try vault.open(id, identities: identities)
                    } catch VaultError.cannotDecrypt {
                        unreadable.insert(id)  // listed, marked; one unreadable secret must not hide the rest
                    }
                }
                if !unreadable.isEmpty { Console.hint("\(unreadable.count) of the secrets are not readable by your identity") }
            }
            let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            switch output {
            case .table:
                var text = ""
                for id in ids {
                    text += id.value
                    if let value = values[id] { text += "  " + JSONValue.secret(value).rendered }
                    if unreadable.contains(id) { text += "  (not readable by you)" }
                    text += "\n"
                }
                try out.write(text)
            case .json:
                let rows = ids.map { id -> JSONValue in
                    var fields: [(String, JSONValue)] = [("id", .string(id.value))]
                    if let value = values[id] { fields.append(("value", .secret(value))) }
                    if unreadable.contains(id) { fields.append(("readable", .bool(false))) }
                    return .object(fields)
                }
                try out.write(JSONValue.object([("secrets", .array(rows))]).rendered + "\n")
            case .yaml:
                var text = ids.isEmpty ? "secrets: []\n" : "secrets:\n"
                for id in ids {
                    text += "  - id: \(JSONValue.string(id.value).rendered)\n"
                    if let value = values[id] { text += "    value: \(JSONValue.secret(value).rendered)\n" }
                    if unreadable.contains(id) { text += "    readable: false\n" }
                }
                try out.write(text)
            }
        }
    }
}

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete secrets in one commit (history keeps earlier versions)."
    )

    @Argument(help: "The secret ids.")
    var ids: [String]

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let changes = try ids.map { VaultChange.remove(try SecretID($0)) }
            let outcome = try options.vault().apply(changes, action: "rm", identities: [], authorName: Environment.user)
            for id in outcome.removed { Console.info("removed \(id)") }
            Console.reportPending(outcome)
        }
    }
}

struct MvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv",
        abstract: "Rename a secret: re-sealed for the new id (and its scope's readers) in one commit."
    )

    @Argument(help: "The current id.")
    var old: String

    @Argument(help: "The new id.")
    var new: String

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let from = try SecretID(old), to = try SecretID(new)
            let vault = try options.vault()
            guard vault.contains(from) else { throw VaultError.notFound(id: from.value) }
            let outcome = try vault.apply([.move(from: from, to: to)], action: "mv", identities: try options.identities(), authorName: Environment.user)
            Console.info("moved \(from) to \(to)")
            Console.reportPending(outcome)
        }
    }
}
