import CofferKit

/// How sync, resolve and conflicts report: ids and paths only, never a value.
enum SyncReportOutput {
    static func conflicts(_ conflicts: [Conflict]) -> Output {
        var table = Table(["ID", "OURS", "THEIRS", "SETTLED", "WHY"])
        let rows = conflicts.map { c -> Value in
            let name = c.id?.value ?? c.path
            table.rows.append([.string(name), .string(c.ours.rawValue), .string(c.theirs.rawValue),
                               .string(c.decided ? "yes" : "no"), .string(c.reason)])
            return .record(["id": .optional(c.id?.value), "path": .string(c.path), "ours": .string(c.ours.rawValue),
                            "theirs": .string(c.theirs.rawValue), "settled": .bool(c.decided), "reason": .string(c.reason)])
        }
        return Output(["conflicts": .list(rows)], table: table)
    }

    static func integration(_ integration: Integration) -> Output {
        var table = Table(["CHANGE", "ID"])
        record(integration, into: &table)
        return Output(fields(integration), table: table)
    }

    static func sync(_ report: SyncReport) -> Output {
        var table = Table(["CHANGE", "ID"])
        record(report.integration, into: &table)
        for id in report.outgoing { table.rows.append(["sent", .string(id.value)]) }
        for path in report.outgoingFiles { table.rows.append(["sent", .string(path)]) }
        var document: Record = ["remote": .string(report.remote), "branch": .string(report.branch)]
        for field in fields(report.integration).fields { document.append(field.key, field.value) }
        document.append("sent", .strings(report.outgoing.map(\.value)))
        document.append("sent_files", .strings(report.outgoingFiles))
        document.append("pushed", .optional(report.pushed))
        document.append("upstream_set", .bool(report.upstreamSet))
        return Output(document, table: table)
    }

    private static func fields(_ integration: Integration) -> Record {
        ["result": .string(integration.kind.rawValue), "commit": .optional(integration.commit),
         "received": .strings(integration.incoming.map(\.value)), "received_files": .strings(integration.incomingFiles),
         "resealed": .strings(integration.resealed.map(\.value)), "exposed": .strings(integration.exposed.map(\.value)),
         "held_back": .strings(integration.heldBack.map(\.value)), "damaged": .strings(integration.damaged.map(\.value)),
         "conflicts": conflicts(integration.conflicts).document["conflicts"] ?? .list([])]
    }

    private static func record(_ integration: Integration, into table: inout Table) {
        for id in integration.incoming { table.rows.append(["received", .string(id.value)]) }
        for path in integration.incomingFiles { table.rows.append(["received", .string(path)]) }
        for id in integration.resealed { table.rows.append(["re-sealed", .string(id.value)]) }
        for c in integration.conflicts where !c.decided { table.rows.append(["conflict", .string(c.id?.value ?? c.path)]) }
    }

    /// What the user should know beyond the table, on standard error.
    static func advise(_ integration: Integration) {
        if !integration.exposed.isEmpty {
            Console.warning("a reader was removed; they may still know these values — change them: "
                            + integration.exposed.map(\.value).joined(separator: ", "))
        }
        if !integration.heldBack.isEmpty {
            Console.warning("not re-sealed, because their scope's readers include a change this clone has not accepted "
                            + "(coffer recipients pending): " + integration.heldBack.map(\.value).joined(separator: ", "))
        }
        if !integration.damaged.isEmpty {
            Console.warning("not sealed files bound to their ids (carried as they came; coffer verify names them): "
                            + integration.damaged.map(\.value).joined(separator: ", "))
        }
        let open = integration.conflicts.filter { !$0.decided }
        if !open.isEmpty {
            Console.warning("\(open.count) conflict\(open.count == 1 ? "" : "s"): nothing was merged or sent; settle each with "
                            + "coffer resolve ID --ours|--theirs|--stdin, then coffer sync")
        }
        if let pending = integration.workTreePending { Console.warning("the work tree is not updated yet (\(pending)); the next command finishes it") }
    }
}
