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
        var previousSequence: Int? = 0
        var expected = 1
        let sequences = lines.map(AuditLine.sequence)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            defer { previous = AuditLine.hash(line) }
            guard let sequence = sequences[index], let claimed = AuditLine.previous(of: line) else {
                problems.append(AuditProblem(line: number, reason: "not a line coffer wrote (changed, or cut short)"))
                previousSequence = nil
                expected += 1
                continue
            }
            // The count goes on from the furthest entry seen, so one gap or
            // one swap is named where it is, not again at every line after.
            defer { previousSequence = sequence; expected = max(expected, sequence + 1) }
            if sequence == expected {
                // Its link is checked only to the entry before it in order; after
                // a gap or a swap, already named, it cannot match.
                if previousSequence == sequence - 1, claimed != previous {
                    problems.append(AuditProblem(line: number, reason: number == 1
                        ? "does not start the chain" : "does not follow line \(number - 1): line \(number - 1) was changed"))
                }
            } else if sequence < expected || sequences[(index + 1)...].contains(expected) {
                problems.append(AuditProblem(line: number, reason: "is entry \(sequence), but entry \(expected) should be here: entries were reordered or copied"))
            } else {
                let gap = sequence - expected
                problems.append(AuditProblem(line: number, reason: "is entry \(sequence), but entry \(expected) should be here: "
                    + (gap == 1 ? "entry \(expected) was removed" : "entries \(expected) to \(sequence - 1) were removed")))
            }
        }
        let lastEntry = expected - 1
        switch head {
        case nil where !lines.isEmpty:
            problems.append(AuditProblem(line: lines.count, reason: "the head file \(headPath) is missing"))
        case let head? where head.lines > lastEntry:
            let missing = head.lines - lastEntry
            problems.append(AuditProblem(line: lines.count, reason: "the log ends here, but \(head.lines) entries were written: "
                + (missing == 1 ? "the last entry was removed" : "the last \(missing) entries were removed")))
        case let head? where head.lines < lastEntry:
            problems.append(AuditProblem(line: lines.count, reason: "entries up to \(lastEntry) were added after the last entry coffer "
                + "recorded in the head, \(head.lines) (after a crash, the next entry coffer writes takes them in)"))
        case let head? where head.last != previous && sequences.last == lastEntry:
            problems.append(AuditProblem(line: lines.count, reason: "the last line was changed"))
        default:
            break
        }
        return AuditVerification(lines: lines.count, problems: problems)
    }
}
