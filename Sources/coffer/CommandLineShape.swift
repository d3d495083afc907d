import ArgumentParser

/// The command line as people type it, reshaped into what ArgumentParser
/// parses, and the command path a typed line names. The one place where
/// spellings ArgumentParser lacks are accepted: git-style global options
/// before the subcommand (`coffer --vault DIR list`) and short options with
/// their value attached (`coffer log -n1`).
enum CommandLineShape {
    /// Options every vault command takes, which users also write before the subcommand (as `git -C`).
    static let globalOptions: Set<String> = ["--vault", "--identity", "--passphrase-file"]

    /// Short options that take a value, which git users attach to it (`-n1`, `-ojson`, `-ikey.txt`).
    /// No coffer flag shares a letter with them, so `-n1` cannot be a bundle of flags.
    static let attachableShortOptions: Set<Character> = ["n", "o", "i", "r", "R"]

    /// Global options before the subcommand move after it; attached short
    /// values are split off. Nothing after `--` is touched.
    static func normalize(_ arguments: [String]) -> [String] {
        var command: ParsableCommand.Type = CofferCommand.self
        var path: [String] = []
        var hoisted: [String] = []
        var at = 0
        while at < arguments.count {
            let token = arguments[at]
            if let sub = subcommand(of: command, named: token) {
                path.append(token)
                command = sub
                at += 1
            } else if globalOptions.contains(token), at + 1 < arguments.count {
                hoisted += [token, arguments[at + 1]]
                at += 2
            } else if let name = token.split(separator: "=", maxSplits: 1).first, token.contains("="),
                      globalOptions.contains(String(name)) {
                hoisted.append(token)
                at += 1
            } else {
                break
            }
        }
        var rest: [String] = []
        var tail = arguments[at...].makeIterator()
        while let token = tail.next() {
            if token == "--" {
                rest.append(token)
                while let literal = tail.next() { rest.append(literal) }
                break
            }
            rest += splitAttached(token)
        }
        return path + hoisted + rest
    }

    /// `-n1` → `-n 1`; any other token as it is.
    private static func splitAttached(_ token: String) -> [String] {
        let characters = Array(token)
        guard characters.count > 2, characters[0] == "-", attachableShortOptions.contains(characters[1]) else { return [token] }
        return [String(characters[..<2]), String(characters[2...])]
    }

    /// The commands a (normalised) command line names, from the root, and the
    /// token right after them (nil at the end of the line). Global options
    /// (left before a mistyped command by `normalize`) are passed over.
    static func commandPath(_ arguments: [String]) -> (commands: [ParsableCommand.Type], names: [String], next: String?) {
        var commands: [ParsableCommand.Type] = [CofferCommand.self]
        var names: [String] = []
        var at = 0
        while at < arguments.count {
            let token = arguments[at]
            if let sub = subcommand(of: commands.last!, named: token) {
                commands.append(sub)
                names.append(token)
                at += 1
            } else if globalOptions.contains(token) {
                at += 2
            } else if globalOptions.contains(where: { token.hasPrefix($0 + "=") }) {
                at += 1
            } else {
                return (commands, names, token)
            }
        }
        return (commands, names, nil)
    }

    /// The subcommand `name` calls, by its name or one of its aliases (`remote rm`).
    static func subcommand(of command: ParsableCommand.Type, named name: String) -> ParsableCommand.Type? {
        command.configuration.subcommands.first { $0._commandName == name || $0.configuration.aliases.contains(name) }
    }

    /// The visible subcommand names of `command`.
    static func subcommandNames(of command: ParsableCommand.Type) -> [String] {
        command.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
    }
}

/// What to tell a user who typed a command that does not exist.
enum CommandSuggestion {
    /// Commands the specification plans that this version does not have yet.
    static let planned: Set<String> = [
        "serve", "bundle",
    ]

    /// The nearest of `candidates` to `typed`: a small edit distance, or a unique prefix.
    static func nearest(to typed: String, in candidates: [String]) -> String? {
        let scored = candidates.map { (name: $0, distance: editDistance(typed, $0)) }
        if let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= 2, best.distance < typed.count {
            return best.name
        }
        let prefixed = candidates.filter { $0.hasPrefix(typed) }
        return typed.count >= 2 && prefixed.count == 1 ? prefixed[0] : nil
    }

    /// Edit distance over characters, a swap of two neighbours counting as one
    /// edit (optimal string alignment), so `lsit` is nearer `list` than `init`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
