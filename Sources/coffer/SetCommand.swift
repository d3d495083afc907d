#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

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

    @Argument(help: ArgumentHelp("ID=VALUE pairs, or one ID with --stdin, --file or a prompt.", valueName: "ID[=VALUE]"),
              completion: Completion.secretIDs)
    var assignments: [String]

    @Flag(help: "Read the value of the single ID from standard input.")
    var stdin = false

    @Option(help: ArgumentHelp("Read the value of the single ID from FILE.", valueName: "FILE"))
    var file: String?

    @Flag(name: .shortAndLong, help: "Seal even if your identity is not among the readers (you could not read the value back).")
    var yes = false

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

    var job: SetJob {
        SetJob(assignments: assignments, stdin: stdin, file: file, yes: yes, settings: options.settings)
    }

    func run() throws { try job.run() }
}

/// `coffer set`'s parsed arguments, from ArgumentParser or the start-up fast path.
struct SetJob: Equatable {
    var assignments: [String]
    var stdin = false
    var file: String?
    var yes = false
    var settings = VaultSettings()

    func run() throws {
        try Console.run {
            var values: [(SecretID, SecureBytes)] = []
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "=") else {
                    let id = try SecretID(assignment)
                    values.append((id, try readValue(for: id)))
                    continue
                }
                let id = try SecretID(String(assignment[..<eq]))
                values.append((id, SecureBytes(copying: Array(assignment[assignment.index(after: eq)...].utf8))))
                ArgumentScrub.wipeValue(of: assignment)
            }
            if assignments.contains(where: { $0.contains("=") }), Files.isTerminal(STDERR_FILENO) {
                Console.warning("values on the command line are visible to other local users (ps, /proc) and may stay "
                                + "in your shell history; prefer the prompt (coffer set ID) or --stdin")
            }
            let vault = try settings.vault()
            PhaseTimings.mark("open-vault")
            // The identity is needed only to compare with values already stored.
            try settings.store.checkPermissions()
            let identities = values.contains { vault.contains($0.0) } ? try settings.identitiesIfPresent() : []
            var plan = try vault.planSet(values, me: settings.myKeys(loaded: identities))
            try Confirm.risks(of: &plan, yes: yes)
            PhaseTimings.mark("plan")
            let outcome = try vault.apply(plan, identities: identities)
            for id in outcome.written { Console.info("set \(id)") }
            for id in outcome.unchanged { Console.info("unchanged \(id) (same value)") }
            Console.reportPending(outcome)
            PhaseTimings.mark("report")
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
