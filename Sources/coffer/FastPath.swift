import Age
import CofferKit

/// A hand-written parser for the common forms of the latency-critical
/// commands — `coffer get`, `coffer exec`, `coffer render`, `coffer age encrypt` and `coffer age decrypt` —
/// tried before ArgumentParser.
///
/// Why: ArgumentParser's reflection costs ~2 ms per process here, as much as
/// age's whole run on a small file. The fast path accepts only unambiguous
/// forms — separate option values that do not start with `-`, at most one
/// positional, no help, no `=`, no bundled flags, valid combinations only —
/// and returns nil for anything else, so ArgumentParser still owns help,
/// every error message and every unusual spelling. A test checks that both
/// parsers agree on every form the fast path accepts.
enum FastPath {
    enum Job: Equatable {
        case encrypt(EncryptJob)
        case decrypt(DecryptJob)
        case get(GetJob)
        case set(SetJob)
        case exec(ExecJob)
        case render(RenderJob)
        case mergeDriver(MergeDriverJob)
    }

    static func parse(_ arguments: [String]) -> Job? {
        // A pasted key is refused, without being shown, on the full parse.
        guard !arguments.contains(where: Redaction.looksLikeSecretKey) else { return nil }
        if arguments.first == "get" { return parseGet(Array(arguments.dropFirst())) }
        if arguments.first == "set" { return parseSet(Array(arguments.dropFirst())) }
        if arguments.first == "exec" { return parseExec(arguments.dropFirst()) }
        if arguments.first == "render" { return parseRender(Array(arguments.dropFirst())) }
        if arguments.first == "merge-driver" { return parseMergeDriver(arguments.dropFirst()) }
        guard arguments.count >= 2, arguments[0] == "age" else { return nil }
        guard let (positional, options) = tokenize(arguments.dropFirst(2), flags: ["-a", "--armor", "-p", "--passphrase"]) else {
            return nil
        }
        guard positional.count <= 1 else { return nil }
        switch arguments[1] {
        case "encrypt":
            var job = EncryptJob(input: positional.first)
            for option in options {
            let (name, value) = (option.name, option.value)
                switch (name, value) {
                case ("-r", let v?): job.recipients.append(v)
                case ("-R", let v?): job.recipientFiles.append(v)
                case ("-o", let v?), ("--output", let v?): if job.output != nil { return nil }; job.output = v
                case ("--passphrase-file", let v?): if job.passphraseFile != nil { return nil }; job.passphraseFile = v
                case ("-a", nil), ("--armor", nil): job.armor = true
                case ("-p", nil), ("--passphrase", nil): job.passphrase = true
                default: return nil
                }
            }
            let hasRecipients = !job.recipients.isEmpty || !job.recipientFiles.isEmpty
            guard job.passphrase != hasRecipients else { return nil }
            return .encrypt(job)
        case "decrypt":
            var job = DecryptJob(input: positional.first)
            for option in options {
            let (name, value) = (option.name, option.value)
                switch (name, value) {
                case ("-i", let v?), ("--identity", let v?): job.identities.append(v)
                case ("-o", let v?), ("--output", let v?): if job.output != nil { return nil }; job.output = v
                case ("--passphrase-file", let v?): if job.passphraseFile != nil { return nil }; job.passphraseFile = v
                default: return nil
                }
            }
            return .decrypt(job)
        default:
            return nil
        }
    }

    private static func parseGet(_ arguments: [String]) -> Job? {
        guard let (positional, options) = tokenize(arguments[...], flags: ["--reveal", "--yes", "-y"]),
              positional.count == 1 else { return nil }
        var job = GetJob(id: positional[0])
        for option in options {
            let (name, value) = (option.name, option.value)
            switch (name, value) {
            case ("--reveal", nil): job.reveal = true
            case ("--yes", nil), ("-y", nil): job.yes = true
            case ("-o", let v?), ("--output", let v?):
                guard let format = OutputFormat(rawValue: v) else { return nil }
                job.output = format
            case ("--at", let v?): if job.revision != nil { return nil }; job.revision = v
            default: guard take(name, value, into: &job.settings) else { return nil }
            }
        }
        return .get(job)
    }

    /// `set ID --file F` and `set ID --stdin`, with vault options and `--yes`:
    /// one bare ID, so no value is on the line (ID=VALUE forms, with their
    /// warning and argv scrubbing, stay with ArgumentParser).
    private static func parseSet(_ arguments: [String]) -> Job? {
        guard let (positional, options) = tokenize(arguments[...], flags: ["--stdin", "--yes", "-y"]),
              positional.count == 1, !positional[0].contains("=") else { return nil }
        var job = SetJob(assignments: positional)
        for option in options {
            let (name, value) = (option.name, option.value)
            switch (name, value) {
            case ("--stdin", nil): job.stdin = true
            case ("--yes", nil), ("-y", nil): job.yes = true
            case ("--file", let v?): if job.file != nil { return nil }; job.file = v
            default: guard take(name, value, into: &job.settings) else { return nil }
            }
        }
        // Exactly one source; the prompt (neither) needs a terminal: left to ArgumentParser too.
        guard job.stdin != (job.file != nil) else { return nil }
        return .set(job)
    }

    /// The vault options every fast command shares (`--vault`, `--identity`,
    /// `--passphrase-file`), each at most once; false for anything else.
    private static func take(_ name: String, _ value: String?, into settings: inout VaultSettings) -> Bool {
        guard let value else { return false }
        switch name {
        case "--vault" where settings.vaultPath == nil: settings.vaultPath = value
        case "--identity" where settings.identityPath == nil: settings.identityPath = value
        case "--passphrase-file" where settings.passphraseFile == nil: settings.passphraseFile = value
        default: return false
        }
        return true
    }

    /// `exec [OPTIONS] -- CMD…`: options before the first `--`, the program after it.
    private static func parseExec(_ arguments: ArraySlice<String>) -> Job? {
        guard let terminator = arguments.firstIndex(of: "--"),
              let (positional, options) = tokenize(arguments[..<terminator], flags: ["--pristine", "--allow-missing"]),
              positional.isEmpty else { return nil }
        var prefixes: [String] = [], maps: [String] = [], files: [String] = [], overrides: [String] = [], only: [String] = []
        var pristine = false, allowMissing = false
        var settings = VaultSettings()
        for option in options {
            let (name, value) = (option.name, option.value)
            switch (name, value) {
            case ("--prefix", let v?): prefixes.append(v)
            case ("--map", let v?): maps.append(v)
            case ("--file", let v?): files.append(v)
            case ("--env", let v?): overrides.append(v)
            case ("--only", let v?): only.append(v)
            case ("--pristine", nil): pristine = true
            case ("--allow-missing", nil): allowMissing = true
            default: guard take(name, value, into: &settings) else { return nil }
            }
        }
        // A refused name or a missing program: ArgumentParser reports it.
        guard let job = try? ExecJob(prefixes: prefixes, maps: maps, files: files, overrides: overrides, only: only, pristine: pristine,
                                     allowMissing: allowMissing, command: Array(arguments[(terminator + 1)...]), settings: settings) else { return nil }
        return .exec(job)
    }

    private static func parseRender(_ arguments: [String]) -> Job? {
        guard let (positional, options) = tokenize(arguments[...], flags: ["--check", "--yes", "-y"]),
              positional.count == 1 else { return nil }
        var job = RenderJob(file: positional[0], format: ConfigFormat(path: positional[0]))
        var format: ConfigFormat?
        for option in options {
            let (name, value) = (option.name, option.value)
            switch (name, value) {
            case ("--check", nil): job.check = true
            case ("--yes", nil), ("-y", nil): job.yes = true
            case ("-o", let v?), ("--output", let v?): if job.output != nil { return nil }; job.output = v
            case ("--format", let v?):
                guard format == nil, let named = ConfigFormat(rawValue: v) else { return nil }
                format = named
            default: guard take(name, value, into: &job.settings) else { return nil }
            }
        }
        // --check with -o is refused by ArgumentParser's validate().
        guard !(job.check && job.output != nil) else { return nil }
        job.format = format ?? job.format
        return .render(job)
    }

    /// `merge-driver [--] BASE OURS THEIRS PATH`, as `merge.coffer.driver` runs it.
    private static func parseMergeDriver(_ arguments: ArraySlice<String>) -> Job? {
        let files = arguments.first == "--" ? arguments.dropFirst() : arguments
        guard files.count == 4, arguments.first == "--" || !files.contains(where: { $0.hasPrefix("-") }) else { return nil }
        let f = Array(files)
        return .mergeDriver(MergeDriverJob(base: f[0], ours: f[1], theirs: f[2], path: f[3]))
    }

    /// One option as typed, with its value unless it is a flag. A struct, and
    /// `flags` an array: a set or an array of tuples has its generic type
    /// metadata built at run time, about 0.3 M instructions of every `get`.
    private struct Option {
        let name: String
        let value: String?
    }

    /// Splits arguments into positionals and options; an option that is not
    /// one of `flags` takes the next argument as its value, which must not
    /// look like an option. Nil for anything else (`--`, `=`, `-` alone…).
    private static func tokenize(_ arguments: ArraySlice<String>, flags: [String]) -> (positional: [String], options: [Option])? {
        var tokens = arguments.makeIterator()
        var positional: [String] = []
        var options: [Option] = []
        while let token = tokens.next() {
            if !token.hasPrefix("-") {
                positional.append(token)
            } else if flags.contains(token) {
                options.append(Option(name: token, value: nil))
            } else {
                guard let value = tokens.next(), !value.hasPrefix("-") else { return nil }
                options.append(Option(name: token, value: value))
            }
        }
        return (positional, options)
    }
}
