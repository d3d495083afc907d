import ArgumentParser
import CofferKit
import Posix

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show your local audit log of reveals and changes, or check that it is unbroken.",
        discussion: """
            Every value coffer shows or hands out (get --reveal, get --copy, exec, render, \
            export --reveal, diff --reveal) and every change it commits is one line of \
            $XDG_STATE_HOME/coffer/audit.log: time, user, vault, action, ids and commit, never \
            a value. Each line carries the SHA-256 of the line before it, and audit.head keeps \
            the count and the last hash, so --verify names an edited, removed, reordered or \
            cut-off line. The log is yours: you (or root) can rewrite it whole; see docs/SECURITY.md. \
            `coffer config --user audit off` stops recording.
            """
    )

    @Option(help: ArgumentHelp("Only entries at or after this time (UTC): 2026-11-28 or 2026-11-28T13:50:00Z.", valueName: "TIME"))
    var since: String?

    @Option(help: ArgumentHelp("Only entries naming this id, or ids under it.", valueName: "ID"))
    var id: String?

    @Flag(help: "Check the chain of hashes and the head instead of listing; exit 1 if broken.")
    var verify = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat?

    func validate() throws {
        if let since, UTCTime.parse(since) == nil {
            throw ValidationError("--since takes a UTC date or time: 2026-11-28 or 2026-11-28T13:50:00Z")
        }
        if verify, since != nil || id != nil { throw ValidationError("--verify checks the whole log; it takes no filter") }
        if verify, output != nil { throw ValidationError("--verify prints a verdict, not records; its exit status is 0 when the log is intact") }
    }

    func run() throws {
        try Console.run {
            let log = AuditLog(directory: VaultSettings.locator.auditDirectory)
            if (try? UserSettings.load(from: VaultSettings.locator.userConfigPath).audit) == false {
                Console.warning("auditing is off: coffer records nothing until `coffer config --user audit on`")
            }
            if verify { return try check(log) }
            let prefix = try id.map(Prefix.init)
            let start = since.flatMap(UTCTime.parse)
            let (entries, unreadable) = try log.entries()
            if unreadable > 0 {
                Console.warning("\(unreadable) line\(unreadable == 1 ? " is" : "s are") not coffer's entries; `coffer audit --verify` says where")
            } else if (try? log.verify())?.isIntact != true {
                Console.warning("the log's chain is broken: some entries shown may have been changed; `coffer audit --verify` says where")
            }
            let shown = entries.filter { entry in
                (start.map { entry.event.time >= $0 } ?? true)
                    && (prefix.map { p in entry.event.ids.contains { (try? SecretID($0)).map(p.contains) ?? false } } ?? true)
            }
            try Renderer.print(AuditCommand.output(shown), as: output ?? .table, command: "audit")
        }
    }

    private func check(_ log: AuditLog) throws {
        let result = try log.verify()
        guard result.isIntact else {
            for problem in result.problems { Console.error("\(TerminalText.escape(log.logPath)) \(problem)") }
            throw CommandFailure("the audit log is broken in \(result.problems.count) place\(result.problems.count == 1 ? "" : "s")",
                                 hint: "someone or something changed \(TerminalText.escape(log.logPath)) or its head after coffer wrote it")
        }
        Console.info("the audit log is intact: \(result.lines) entr\(result.lines == 1 ? "y" : "ies"), each following the one before")
    }

    static func output(_ entries: [AuditEntry]) -> Output {
        var table = Table(["TIME", "ACTION", "IDS", "COMMIT", "USER", "VAULT"])
        var records: [Value] = []
        for entry in entries {
            let e = entry.event
            let time = UTCTime.iso8601(e.time)
            let ids = e.ids.count <= 3 ? e.ids.joined(separator: " ") : e.ids.prefix(2).joined(separator: " ") + " and \(e.ids.count - 2) more"
            table.rows.append([.string(time), .string(e.action), .string(ids), .string(e.commit.map { String($0.prefix(12)) } ?? "-"),
                               .string(e.user), .string(e.vault)])
            records.append(.record(["seq": .int(entry.sequence), "time": .string(time), "user": .string(e.user), "vault": .string(e.vault),
                                    "action": .string(e.action), "ids": .strings(e.ids), "commit": .optional(e.commit)]))
        }
        return Output(["entries": .list(records)], table: table)
    }
}
