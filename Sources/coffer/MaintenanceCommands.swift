import ArgumentParser
import Age
import CofferKit

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Give secrets fresh data keys (values unchanged), in one commit."
    )

    @Argument(help: ArgumentHelp("Only the secrets under this prefix (default: all).", valueName: "PREFIX"))
    var prefix: String = ""

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let ids = try vault.list(prefix: prefix)
            guard !ids.isEmpty else { throw CommandFailure("no secrets under \(prefix.isEmpty ? "/" : prefix)") }
            let outcome = try ProgressLine.around("re-keying") { progress in
                try vault.apply(ids.map { .rekey($0) }, action: "rotate", identities: try options.identities(),
                                authorName: Environment.user, progress: progress)
            }
            if output == .table { Console.info("rotated the data keys of \(Plural.secrets(outcome.rekeyed.count))") }
            let document: Record = ["rotated": .strings(outcome.rekeyed.map(\.value)), "commit": .optional(outcome.commit)]
            let table = Table(["ID"], rows: outcome.rekeyed.map { [.string($0.value)] })
            try Renderer.print(Output(document, table: table), as: output, command: "rotate")
            Console.reportPending(outcome)
        }
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every secret is intact and sealed for exactly its scope's readers.",
        discussion: """
            Reports drift: a .recipients edited by hand, a file sealed for other readers than \
            its scope's (or bound to another id), a damaged file, a .age file git does not \
            track, a work-tree copy that differs from the commit. Exits 1 if anything is found. \
            --fix adopts hand-edited .recipients and re-seals what drifted in one commit, and \
            moves orphan files aside to .git/coffer-orphans/ (never deleting them).
            """
    )

    @Argument(help: ArgumentHelp("Only the secrets under this prefix (default: all).", valueName: "PREFIX"))
    var prefix: String = ""

    @Flag(help: "Repair what can be repaired (one commit).")
    var fix = false

    @Flag(help: "With --fix: adopt .recipients edits even if you could not read those secrets afterwards.")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            if !prefix.isEmpty { _ = try ScopeName.parse(prefix) }
            let vault = try options.vault()
            let identities = try options.identitiesIfPresent()
            var report = try vault.verify(prefix: prefix, identities: identities)
            var commit: String?
            var setAside: [String] = []
            if fix, report.drift.contains(where: \.isFixable) {
                var adopted: [String: [NamedRecipient]] = [:]
                for case .recipientsEdited(let scope) in report.drift {
                    adopted[scope] = try vault.recipientsFile(ofDirectory: scope)?.entries
                }
                try UnreadableGuard.check(scopes: adopted, identities: identities, yes: yes)
                let (outcome, moved) = try ProgressLine.around("re-sealing") { progress in
                    try vault.fix(report, identities: identities, authorName: Environment.user, progress: progress)
                }
                commit = outcome.commit
                setAside = moved
                Console.info("fixed: re-sealed \(Plural.secrets(outcome.written.count))"
                             + (moved.isEmpty ? "" : "; moved \(moved.count) file\(moved.count == 1 ? "" : "s") aside to .git/coffer-orphans/"))
                Console.reportPending(outcome)
                report = try vault.verify(prefix: prefix, identities: identities)
            }
            let document: Record = [
                "checked": .int(report.checked), "decrypted": .int(report.decrypted),
                "drift": .list(report.drift.map(Value.drift)),
                "commit": .optional(commit),
                "set_aside": .strings(setAside),
            ]
            let table = Table(["KIND", "WHERE", "PROBLEM"], rows: report.drift.map(VerifyCommand.describe))
            try Renderer.print(Output(document, table: table), as: output, command: "verify")
            if output == .table {
                Console.info("checked \(Plural.secrets(report.checked)) (\(report.decrypted) decrypted with your identity): "
                             + (report.drift.isEmpty ? "no drift" : "\(report.drift.count) problem\(report.drift.count == 1 ? "" : "s")"))
                if !fix, report.drift.contains(where: \.isFixable) { Console.hint("coffer verify --fix repairs what can be repaired") }
            }
            if !report.drift.isEmpty { throw ExitCode.failure }
        }
    }

    /// One row of the table: the kind, where (an id, a path, a scope's .recipients), the problem.
    static func describe(_ drift: Drift) -> [Value] {
        switch drift {
        case .recipientsEdited(let scope):
            return ["recipients-edited", .string("\(scope.isEmpty ? "" : scope + "/").recipients"), "differs from the committed one"]
        case .wrongReaders(let id, let scope, let missing, let extra):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("not sealed for \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("sealed for \(extra.joined(separator: ", ")) who \(extra.count == 1 ? "is" : "are") not a reader") }
            if parts.isEmpty { parts.append("its stanzas do not match its binding") }
            return ["wrong-readers", .string(id.value), .string("\(parts.joined(separator: "; ")) of \(ScopeName.of(scope))")]
        case .boundElsewhere(let id, let other): return ["bound-elsewhere", .string(id.value), .string("the file is bound to \(other)")]
        case .damaged(let id, let reason): return ["damaged", .string(id.value), .string(reason)]
        case .orphan(let path): return ["orphan", .string(path), "not in the vault's history"]
        case .workTreeDiffers(let id): return ["work-tree", .string(id.value), "the file differs from the committed one"]
        }
    }
}

extension Value {
    static func drift(_ drift: Drift) -> Value {
        switch drift {
        case .recipientsEdited(let scope): return .record(["kind": "recipients-edited", "scope": .string(scope)])
        case .wrongReaders(let id, let scope, let missing, let extra):
            return .record(["kind": "wrong-readers", "id": .string(id.value), "scope": .string(scope),
                            "missing": .strings(missing), "extra": .strings(extra)])
        case .boundElsewhere(let id, let other):
            return .record(["kind": "bound-elsewhere", "id": .string(id.value), "bound_to": .string(other)])
        case .damaged(let id, let reason): return .record(["kind": "damaged", "id": .string(id.value), "reason": .string(reason)])
        case .orphan(let path): return .record(["kind": "orphan", "path": .string(path)])
        case .workTreeDiffers(let id): return .record(["kind": "work-tree", "id": .string(id.value)])
        }
    }
}
