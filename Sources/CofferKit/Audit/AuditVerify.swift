/// What `AuditLog.verify()` found: the number of lines and every place
/// the chain breaks. An empty `problems` means the log is as coffer wrote
/// it — or as someone with write access to both files rewrote it.
public struct AuditVerification: Sendable, Equatable {
    public var lines: Int
    public var problems: [AuditProblem]
    public var isIntact: Bool { problems.isEmpty }
}

/// One break in the chain, at a line (1-based) of the log as it is now.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

extension AuditLog {
    /// Checks every line against the one before it and the last against
    /// the head file: an edited, deleted, inserted or reordered line, or
    /// lines cut off the end, each break the chain at a named line.
    public func verify() throws -> AuditVerification {
        let lines: [ArraySlice<UInt8>]
        do { lines = try readLines() } catch { throw AuditError.unreadable(path: logPath, reason: "\(error)") }
        let head = try AuditHead.read(from: headPath)
        var problems: [AuditProblem] = []
        var previous = AuditLine.genesis
        for (index, line) in lines.enumerated() {
            let number = index + 1
            guard let sequence = AuditLine.sequence(of: line), let claimed = AuditLine.previous(of: line) else {
                problems.append(AuditProblem(line: number, reason: "not a line coffer wrote (changed, or cut short)"))
                previous = AuditLine.hash(line)
                continue
            }
            if sequence != number {
                let reason = sequence > number
                    ? "is entry \(sequence), but entry \(number) should be here: \(sequence - number == 1 ? "an entry was" : "entries were") removed before it"
                    : "is entry \(sequence), but entry \(number) should be here: entries were reordered or copied"
                problems.append(AuditProblem(line: number, reason: reason))
            } else if claimed != previous {
                problems.append(AuditProblem(line: number, reason: number == 1
                    ? "does not start the chain" : "does not follow line \(number - 1): line \(number - 1) was changed"))
            }
            previous = AuditLine.hash(line)
        }
        switch head {
        case nil where !lines.isEmpty:
            problems.append(AuditProblem(line: lines.count, reason: "the head file \(headPath) is missing"))
        case let head? where head.lines > lines.count:
            let missing = head.lines - lines.count
            problems.append(AuditProblem(line: lines.count, reason: "the log ends here, but \(head.lines) entries were written: "
                + (missing == 1 ? "the last entry was removed" : "the last \(missing) entries were removed")))
        case let head? where head.lines < lines.count:
            problems.append(AuditProblem(line: head.lines + 1, reason: "lines from here on were added after the last entry coffer wrote"))
        case let head? where head.last != previous && !lines.isEmpty:
            problems.append(AuditProblem(line: lines.count, reason: "the last line was changed"))
        default:
            break
        }
        return AuditVerification(lines: lines.count, problems: problems)
    }
}
