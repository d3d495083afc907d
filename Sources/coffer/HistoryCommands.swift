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
        discussion: "Each version shows its number (vN), commit, date, author, who signed it (verified NAME, unsigned, unknown KEY or bad), action (`git` for a commit whose signature does not verify, whatever it claims), whether the value or only the wrapping changed, and the id it had then."
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let id = try SecretID(id)
            let vault = try options.vault()
            let checker = try vault.signatureChecker()
            let versions = try vault.history(of: id, checker: checker)
            guard !versions.isEmpty else { throw VaultError.notFound(id: id.value) }
            Console.reportUnverifiable(checker)
            var table = Table(["VERSION", "COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "CHANGE", "ID"])
            let rows = versions.map { v -> Value in
                let date = UTCTime.iso8601(Int(v.time))
                table.rows.append([.string("v\(v.number)"), .string(String(v.commit.prefix(8))), .string(date), .string(v.author),
                                   v.origin.signedCell, .string(v.action), .string(v.change.rawValue), .string(v.id.value)])
                var record: Record = ["version": .int(v.number), "id": .string(v.id.value), "commit": .string(v.commit),
                                      "date": .string(date), "author": .string(v.author)]
                v.origin.appendSignatureAndAction(to: &record)
                record.append("change", .string(v.change.rawValue))
                return .record(record)
            }
            try Renderer.print(Output(["id": .string(id.value), "versions": .list(rows)], table: table), as: output, command: "history")
        }
    }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List the vault's changes, newest first, with who signed each and the ids it touched (never values)."
    )

    @Argument(help: "Only changes to ids under this prefix.")
    var prefix: String = ""

    @Option(name: .shortAndLong, help: "At most this many changes.")
    var number: Int?

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let checker = try vault.signatureChecker()
            let entries = try vault.log(try Prefix(prefix), limit: number ?? Int.max, checker: checker)
            if !entries.isEmpty { Console.reportUnverifiable(checker) }
            var table = Table(["COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "IDS"])
            let rows = entries.map { e -> Value in
                let date = UTCTime.iso8601(Int(e.time))
                table.rows.append([.string(String(e.commit.prefix(8))), .string(date), .string(e.author), e.origin.signedCell,
                                   .string(e.action), .strings(e.ids)])
                var record: Record = ["commit": .string(e.commit), "date": .string(date), "author": .string(e.author)]
                e.origin.appendSignatureAndAction(to: &record)
                record.append("ids", .strings(e.ids))
                return .record(record)
            }
            try Renderer.print(Output(["changes": .list(rows)], table: table), as: output, command: "log")
        }
    }
}

/// How `history`, `log` and `diff` show a commit's signature and action.
extension CommitOrigin {
    /// The SIGNED cell: `verified alice`, `unsigned`, `unknown SHA256:…`,
    /// `bad`. A signer's name comes from `.signers`, which anyone can push:
    /// the renderer escapes it with the other cells.
    var signedCell: Value { .string(signature.summary) }

    /// `signature` (`mark`, then `signer` and `fingerprint` where known)
    /// and `action`, then `claimed_action` when the commit claims another.
    func appendSignatureAndAction(to record: inout Record) {
        var signed: Record = ["mark": .string(signature.mark.rawValue)]
        if let signer = signature.signer { signed.append("signer", .string(signer)) }
        if let fingerprint = signature.fingerprint { signed.append("fingerprint", .string(fingerprint)) }
        record.append("signature", .record(signed))
        record.append("action", .string(action))
        if claimedAction != action { record.append("claimed_action", .string(claimedAction)) }
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
