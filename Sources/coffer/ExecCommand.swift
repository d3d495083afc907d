#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CofferKit
import CofferLocator
import CrashPosture
import Posix

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a program with secrets in its environment or in in-memory files.",
        discussion: """
            A secret under --prefix is named by its id's last segment, upper-cased, every character \
            outside [A-Z0-9_] becoming _ and a leading digit getting a _ in front (app/db-url: DB_URL). \
            --env wins over secrets, secrets over the inherited environment. The program replaces coffer \
            (no shell): its exit status and signals are its own; 127 if it is not found, 126 if it cannot run.
            """
    )

    @Option(name: .customLong("prefix"), help: ArgumentHelp("Every secret under P, named after its id's last segment (repeatable).", valueName: "P"))
    var prefixes: [String] = []

    @Option(name: .customLong("map"), help: ArgumentHelp("Set NAME to the secret ID, whatever its own name (repeatable).", valueName: "NAME=ID"))
    var maps: [String] = []

    @Option(name: .customLong("env"), help: ArgumentHelp("Set NAME to VALUE, over any secret or inherited value (repeatable).", valueName: "NAME=VALUE"))
    var overrides: [String] = []

    @Option(name: .customLong("only"), help: ArgumentHelp("Keep only the secrets named NAME (repeatable).", valueName: "NAME"))
    var only: [String] = []

    @Option(name: .customLong("file"), help: ArgumentHelp("Put the secret ID in an in-memory file (mode 0400) and NAME its path, /dev/fd/N (repeatable).", valueName: "NAME=ID"))
    var files: [String] = []

    @Flag(help: "Inherit no environment variable: the program gets only what the secrets and --env set.")
    var pristine = false

    @Flag(help: "Run without the secrets that are missing or unreadable (a warning names them) instead of failing.")
    var allowMissing = false

    @OptionGroup var options: VaultOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The program and its arguments, after --, passed on untouched.", valueName: "CMD"))
    var command: [String] = []

    func validate() throws { _ = try job }

    func run() throws { try job.run() }

    /// The job, with every name checked (a bad one is a command-line error, exit 64).
    var job: ExecJob {
        get throws {
            try ExecJob(prefixes: prefixes, maps: maps, files: files, overrides: overrides, only: only,
                        pristine: pristine, allowMissing: allowMissing, command: command, settings: options.settings)
        }
    }
}

/// What `coffer exec` does once its arguments are known: read the secrets,
/// build the program's environment and files, then become the program.
struct ExecJob: Equatable {
    /// `NAME=…` as typed, the name checked.
    struct Assignment: Equatable {
        let name: EnvironmentName
        let value: String
    }

    var prefixes: [String]
    var variables: [Assignment]
    var files: [Assignment]
    var overrides: [Assignment]
    var only: [EnvironmentName]?
    var pristine: Bool
    var allowMissing: Bool
    /// As parsed: only its length is used, to find the raw words in argv.
    var command: [String]
    var settings: VaultSettings

    /// From the options as typed (by ArgumentParser or the fast path); a bad
    /// name or a missing program is a `ValidationError` (exit 64).
    init(prefixes: [String], maps: [String], files: [String], overrides: [String], only: [String],
         pristine: Bool, allowMissing: Bool, command: [String], settings: VaultSettings) throws {
        guard !command.isEmpty else { throw ValidationError("missing the program to run, after --: coffer exec [OPTIONS] -- CMD [ARGS...]") }
        self.prefixes = prefixes
        variables = try maps.map { try Self.assignment($0, option: "--map", what: "ID") }
        self.files = try files.map { try Self.assignment($0, option: "--file", what: "ID") }
        self.overrides = try overrides.map { try Self.assignment($0, option: "--env", what: "VALUE") }
        self.only = only.isEmpty ? nil : try only.map(Self.name)
        self.pristine = pristine
        self.allowMissing = allowMissing
        self.command = command
        self.settings = settings
    }

    private static func assignment(_ text: String, option: String, what: String) throws -> Assignment {
        guard let eq = text.firstIndex(of: "=") else { throw ValidationError("\(option) wants NAME=\(what), not '\(TerminalText.escape(text))'") }
        let assignment = Assignment(name: try name(String(text[..<eq])), value: String(text[text.index(after: eq)...]))
        // An id that can never exist is a command-line error, like a bad name.
        if what == "ID" {
            do { _ = try SecretID(assignment.value) } catch let error as VaultError {
                throw ValidationError("\(option) \(assignment.name)=ID: \(TerminalText.escape(error.description))")
            }
        }
        return assignment
    }

    private static func name(_ text: String) throws -> EnvironmentName {
        do { return try EnvironmentName(text) } catch let error as SecretEnvironmentError {
            throw ValidationError(TerminalText.escape(error.description))
        }
    }

    func run() throws {
        try Console.run {
            let (vault, secrets) = try readSecrets()
            for skipped in secrets.skipped { Console.warning("not set: \(skipped)") }
            let environment = ChildEnvironment(inherited: pristine ? nil : Locator.processEnvironment(),
                                               secrets: try Self.deliver(secrets), overrides: overrides.map { ($0.name, $0.value) })
            let arguments = try rawCommand()
            try launch(try Self.locate(arguments[0]!, in: environment), arguments: arguments, environment: environment,
                       given: secrets.secrets.map(\.binding), from: vault)
        }
    }

    /// Each secret as its variable will carry it: the value itself, or the
    /// path of a sealed in-memory file holding it.
    private static func deliver(_ secrets: SecretEnvironment) throws -> [(EnvironmentName, ChildEnvironment.Value)] {
        try secrets.secrets.map { secret in
            switch secret.binding.delivery {
            case .variable:
                return (secret.binding.name, .secret(secret.value))
            case .file:
                let fd = try SealedMemoryFile.make(name: secret.binding.name.value, contents: secret.value)
                return (secret.binding.name, .text(SealedMemoryFile.path(of: fd)))
            }
        }
    }

    /// The program's file. The child's PATH decides where it is found; with
    /// none (--pristine), coffer's own, as the calling shell would find it.
    private static func locate(_ command: UnsafeMutablePointer<CChar>, in environment: ChildEnvironment) throws -> [UInt8] {
        let searchPath = environment.value(of: "PATH") ?? Array((Locator.processVariable("PATH") ?? "").utf8)
        do {
            return try ProgramLaunch.locate(Array(UnsafeRawBufferPointer(start: command, count: strlen(command))), searchPath: searchPath)
        } catch let failure as ProgramLaunch.Failure {
            throw Self.failed(failure)
        }
    }

    /// The secrets asked for, read, and the vault they came from; none (and
    /// no vault opened) when none is asked for.
    private func readSecrets() throws -> (Vault?, SecretEnvironment) {
        var request = SecretEnvironmentRequest()
        request.prefixes = try prefixes.map(Prefix.init)
        request.variables = try variables.map { ($0.name, try SecretID($0.value)) }
        request.files = try files.map { ($0.name, try SecretID($0.value)) }
        request.only = only
        request.overridden = Set(overrides.map(\.name))
        request.allowMissing = allowMissing
        guard !request.asksForNothing else { return (nil, .none) }
        do {
            let vault = try settings.vault()
            let plan = try vault.planSecretEnvironment(request)
            let identities = plan.bindings.isEmpty ? [] : try settings.identities()
            return (vault, try vault.readSecretEnvironment(plan, identities: identities))
        } catch let error as SecretEnvironmentError {
            throw CommandFailure(error.description, hint: Self.hint(for: error))
        }
    }

    /// The last step. Everything is decided here: the program, its
    /// arguments, and which secrets it is `given` (name, id, variable or
    /// file). The audit record of the run belongs here, first, before the
    /// posture is relaxed; nothing but execve itself can fail after it.
    private func launch(_ program: [UInt8], arguments: [UnsafeMutablePointer<CChar>?], environment: ChildEnvironment,
                        given: [SecretBinding], from vault: Vault?) throws {
        // Fail closed: a run the audit log cannot record does not start.
        if !given.isEmpty { try vault?.recordReveal(.exec, ids: given.map(\.id)) }
        CrashPosture.relaxForExec()
        let failure = environment.withEnvironmentPointers { envp in
            ProgramLaunch.replace(path: program, arguments: arguments, environment: envp)
        }
        CrashPosture.harden()
        throw Self.failed(failure)
    }

    /// The child's argv: the words after `--` as the kernel passed them to
    /// coffer (an argument need not be UTF-8), NULL-terminated.
    private func rawCommand() throws -> [UnsafeMutablePointer<CChar>?] {
        let argc = Int(CommandLine.argc)
        let tail = (argc - command.count..<argc).map { CommandLine.unsafeArgv[$0] }
        // Nothing reshapes the words after `--`, so they are argv's last ones;
        // should that ever change, refuse rather than run something else.
        guard tail.map({ String(cString: $0!) }) == command else {
            throw CommandFailure("internal error: the program's arguments are not the last words of the command line")
        }
        return tail + [nil]
    }

    /// Says why the program did not start; the error exits with the shell's status for it.
    private static func failed(_ failure: ProgramLaunch.Failure) -> Error {
        Console.error(TerminalText.escape(failure.description))
        if case .notFound = failure { Console.hint("give its path, or set PATH with --env PATH=...") }
        return ExitCode(failure.exitStatus)
    }

    private static func hint(for error: SecretEnvironmentError) -> String? {
        switch error {
        case .invalidName: return nil
        case .clashes: return "give one of them another name with --map NAME=ID, or leave it out with --only"
        case .unavailable: return "--allow-missing runs the program without them"
        case .holdsNUL(let ids), .tooLongForVariable(let ids): return "pass it as a file instead: --file NAME=\(ids[0])"
        }
    }
}
