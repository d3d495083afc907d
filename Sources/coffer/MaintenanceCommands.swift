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

    @Option(name: .shortAndLong, help: OutputFormat.help)
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
            if output == .table { Console.info("rotated the data keys of \(Plural.secrets(outcome.rekeyed.count))") }
            if !rotation.skipped.isEmpty {
                Console.warning("skipped \(rotation.skipped.map(\.description).joined(separator: ", ")): you are not a reader there")
            }
            let document: Record = ["rotated": .strings(outcome.rekeyed.map(\.value)),
                                    "skipped_scopes": .strings(rotation.skipped.map(\.directory)),
                                    "commit": .optional(outcome.commit)]
            let table = Table(["ID"], rows: outcome.rekeyed.map { [.string($0.value)] })
            try Renderer.print(Output(document, table: table), as: output, command: "rotate")
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
            moves orphan files aside to .git/coffer-orphans/ (never deleting them). \
            --history checks the signed history instead: from this clone's pinned root to HEAD \
            (or the range A..B given in place of PREFIX), every unsigned, badly signed or \
            untrusted commit, every change to .signers, .recipients or .coffer-config the chain \
            of trust holds back, and a rewrite of commits this clone verified. Exits 1 if any.
            """
    )

    @Argument(help: ArgumentHelp("Only the secrets under this prefix (default: all); with --history, a range A..B.", valueName: "PREFIX"))
    var prefix: String = ""

    @Flag(help: "Check the signed history instead of the secrets.")
    var history = false

    @Flag(help: "Repair what can be repaired (one commit).")
    var fix = false

    @Flag(name: .shortAndLong, help: "With --fix: adopt .recipients edits even if you could not read those secrets afterwards.")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        if history { return try verifyHistory() }
        try Console.run {
            let prefix = try Prefix(prefix)
            let vault = try options.vault()
            let identities = try options.identitiesIfDefaultAbsent()
            if identities.isEmpty {
                Console.warning("no identity at \(options.store.path): nothing was decrypted, only the vault's structure "
                                + "and recipients were checked (a damaged value would go unnoticed)")
            }
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
                // --fix refuses while a reader is unaccepted: settle that first.
                if let first = report.drift.lazy.compactMap(VerifyCommand.unaccepted).first {
                    Console.hint(Hints.accept(first))
                } else if !fix, report.drift.contains(where: \.isFixable) {
                    Console.hint("coffer verify --fix repairs what can be repaired")
                }
            }
            if !report.drift.isEmpty { throw ExitCode.failure }
        }
    }

    private func verifyHistory() throws {
        try Console.run {
            guard !fix else { throw CommandFailure("--history and --fix do not go together", hint: "a held-back change is settled by a trusted signer's commit, or by `coffer recipients accept`") }
            let report = try options.vault().verifyHistory(range: prefix.isEmpty ? nil : prefix)
            let findings = report.findings.map { finding -> Value in
                .record(["kind": .string(finding.kind.rawValue), "commit": .optional(finding.commit),
                         "problem": .string(finding.detail), "files": .strings(finding.paths)])
            }
            let table = Table(["KIND", "COMMIT", "FILES", "PROBLEM"], rows: report.findings.map {
                [.string($0.kind.rawValue), .string(String(($0.commit ?? "").prefix(12))), .string($0.paths.joined(separator: " ")),
                 .string($0.detail)]
            })
            try Renderer.print(Output(["checked": .int(report.checked), "signing": .string(report.signingOn ? "on" : "off"),
                                       "findings": .list(findings)], table: table), as: output, command: "verify --history")
            if !report.signingOn { Console.warning("signing is off for this vault: its history is unverified (`coffer config signing on`)") }
            if output == .table {
                Console.info("checked \(report.checked) commit\(report.checked == 1 ? "" : "s"): "
                             + (report.findings.isEmpty ? "every one signed by a trusted signer" : "\(report.findings.count) problem\(report.findings.count == 1 ? "" : "s")"))
            }
            if !report.findings.isEmpty { throw ExitCode.failure }
        }
    }

    static func unaccepted(_ drift: Drift) -> UnacceptedReader? {
        if case .unacceptedReader(let reader) = drift { return reader }
        return nil
    }

    /// One row of the table: the kind, where (an id, a path, a scope's .recipients), the problem.
    static func describe(_ drift: Drift) -> [Value] {
        switch drift {
        case .recipientsEdited(let scope):
            return ["recipients-edited", .string("\(scope.isRoot ? "" : scope.directory + "/").recipients"), "differs from the committed one"]
        case .wrongReaders(let id, let scope, let missing, let extra):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("not sealed for \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("sealed for \(extra.joined(separator: ", ")) who \(extra.count == 1 ? "is" : "are") not a reader") }
            if parts.isEmpty { parts.append("its stanzas do not match its binding") }
            return ["wrong-readers", .string(id.value), .string("\(parts.joined(separator: "; ")) of \(scope)")]
        case .boundElsewhere(let id, let other): return ["bound-elsewhere", .string(id.value), .string("the file is bound to \(other)")]
        case .damaged(let id, let cause): return ["damaged", .string(id.value), .string(cause.description)]
        case .orphan(let path): return ["orphan", .string(path), "not in the vault's history"]
        case .attributesUnprotected(let path):
            return ["attributes", .string(path), "lets git convert or merge sealed files (coffer's *.age line is not in force)"]
        case .workTreeDiffers(let id): return ["work-tree", .string(id.value), "the file differs from the committed one"]
        case .unacceptedReader(let reader): return ["unaccepted-reader", .string(reader.scope.description), .string(reader.summary)]
        }
    }
}

extension Value {
    static func drift(_ drift: Drift) -> Value {
        switch drift {
        case .recipientsEdited(let scope): return .record(["kind": "recipients-edited", "scope": .string(scope.directory)])
        case .wrongReaders(let id, let scope, let missing, let extra):
            return .record(["kind": "wrong-readers", "id": .string(id.value), "scope": .string(scope.directory),
                            "missing": .strings(missing), "extra": .strings(extra)])
        case .boundElsewhere(let id, let other):
            return .record(["kind": "bound-elsewhere", "id": .string(id.value), "bound_to": .string(other)])
        case .damaged(let id, let cause):
            return .record(["kind": "damaged", "id": .string(id.value), "reason": .string(cause.description)])
        case .orphan(let path): return .record(["kind": "orphan", "path": .string(path)])
        case .attributesUnprotected(let path): return .record(["kind": "attributes", "path": .string(path)])
        case .workTreeDiffers(let id): return .record(["kind": "work-tree", "id": .string(id.value)])
        case .unacceptedReader(let unaccepted):
            return .record(["kind": "unaccepted-reader", "scope": .string(unaccepted.scope.directory),
                            "change": .string(unaccepted.change.rawValue), "reader": .reader(unaccepted.reader),
                            "commit": .optional(unaccepted.introducedBy?.commit), "author": .optional(unaccepted.introducedBy?.author),
                            "email": .optional(unaccepted.introducedBy?.email)])
        }
    }
}
