import ArgumentParser
import Age
import CofferKit
import Posix

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Give secrets fresh data keys (values unchanged), in one commit."
    )

    @Argument(help: ArgumentHelp("Only the secrets under this prefix (default: all).", valueName: "PREFIX"))
    var prefix: String = ""

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    @Flag(help: "Fail (exit 1) if any scope under the prefix was skipped because you do not read it.")
    var strict = false

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let identities = try options.identities()
            let rotation = try ProgressLine.around("re-keying") { progress in
                try vault.rotate(try Prefix(prefix), identities: identities, progress: progress)
            }
            let outcome = rotation.outcome
            if output == .json {
                try FileDescriptorSink(fd: 1, name: "standard output").write(JSONValue.object([
                    ("rotated", .array(outcome.rekeyed.map { .string($0.value) })),
                    ("skipped_scopes", .array(rotation.skipped.map { .string($0.directory) })),
                    ("commit", outcome.commit.map(JSONValue.string) ?? .null),
                ]).rendered + "\n")
            } else {
                Console.info("rotated the data keys of \(Plural.secrets(outcome.rekeyed.count))")
            }
            if !rotation.skipped.isEmpty {
                Console.warning("skipped \(rotation.skipped.map(\.description).joined(separator: ", ")): you are not a reader there")
            }
            Console.reportPending(outcome)
            if strict && !rotation.skipped.isEmpty { throw ExitCode.failure }
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

    @Flag(name: .shortAndLong, help: "With --fix: adopt .recipients edits even if you could not read those secrets afterwards.")
    var yes = false

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let prefix = try Prefix(prefix)
            let vault = try options.vault()
            let identities = try options.identitiesIfPresent()
            var report = try vault.verify(prefix, identities: identities)
            var commit: String?
            var setAside: [String] = []
            if fix, report.drift.contains(where: \.isFixable) {
                var plan = try vault.planFix(report, me: options.myKeys(loaded: identities))
                try Confirm.risks(of: &plan, yes: yes)
                let outcome = try ProgressLine.around("re-sealing") { progress in
                    try vault.apply(plan, identities: identities, progress: progress)
                }
                let moved = outcome.setAside
                commit = outcome.commit
                setAside = moved
                Console.info("fixed: re-sealed \(Plural.secrets(outcome.written.count))"
                             + (moved.isEmpty ? "" : "; moved \(moved.count) file\(moved.count == 1 ? "" : "s") aside to .git/coffer-orphans/"))
                Console.reportPending(outcome)
                report = try vault.verify(prefix, identities: identities)
            }
            let out = FileDescriptorSink(fd: 1, name: "standard output")
            if output == .json {
                try out.write(JSONValue.object([
                    ("checked", .number(report.checked)), ("decrypted", .number(report.decrypted)),
                    ("drift", .array(report.drift.map(JSONValue.drift))),
                    ("commit", commit.map(JSONValue.string) ?? .null),
                    ("set_aside", .array(setAside.map(JSONValue.string))),
                ]).rendered + "\n")
            } else {
                try out.write(report.drift.map { VerifyCommand.describe($0) + "\n" }.joined())
                Console.info("checked \(Plural.secrets(report.checked)) (\(report.decrypted) decrypted with your identity): "
                             + (report.drift.isEmpty ? "no drift" : "\(report.drift.count) problem\(report.drift.count == 1 ? "" : "s")"))
                if !fix, report.drift.contains(where: \.isFixable) { Console.hint("coffer verify --fix repairs what can be repaired") }
            }
            if !report.drift.isEmpty { throw ExitCode.failure }
        }
    }

    static func describe(_ drift: Drift) -> String {
        switch drift {
        case .recipientsEdited(let scope):
            return "recipients-edited  \(scope.isRoot ? "" : scope.directory + "/").recipients differs from the committed one"
        case .wrongReaders(let id, let scope, let missing, let extra):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("not sealed for \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("sealed for \(extra.joined(separator: ", ")) who \(extra.count == 1 ? "is" : "are") not a reader") }
            if parts.isEmpty { parts.append("its stanzas do not match its binding") }
            return "wrong-readers  \(id): \(parts.joined(separator: "; ")) of \(scope)"
        case .boundElsewhere(let id, let other): return "bound-elsewhere  \(id): the file is bound to \(other)"
        case .damaged(let id, let cause): return "damaged  \(id): \(cause)"
        case .orphan(let path): return "orphan  \(path): not in the vault's history"
        case .workTreeDiffers(let id): return "work-tree  \(id): the file differs from the committed one"
        }
    }
}

extension JSONValue {
    static func drift(_ drift: Drift) -> JSONValue {
        switch drift {
        case .recipientsEdited(let scope): return .object([("kind", .string("recipients-edited")), ("scope", .string(scope.directory))])
        case .wrongReaders(let id, let scope, let missing, let extra):
            return .object([("kind", .string("wrong-readers")), ("id", .string(id.value)), ("scope", .string(scope.directory)),
                            ("missing", .array(missing.map(JSONValue.string))), ("extra", .array(extra.map(JSONValue.string)))])
        case .boundElsewhere(let id, let other):
            return .object([("kind", .string("bound-elsewhere")), ("id", .string(id.value)), ("bound_to", .string(other))])
        case .damaged(let id, let cause):
            return .object([("kind", .string("damaged")), ("id", .string(id.value)), ("reason", .string(cause.description))])
        case .orphan(let path): return .object([("kind", .string("orphan")), ("path", .string(path))])
        case .workTreeDiffers(let id): return .object([("kind", .string("work-tree")), ("id", .string(id.value))])
        }
    }
}
