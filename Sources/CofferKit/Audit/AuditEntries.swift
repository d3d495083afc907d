import Age
import Posix

/// One line of the audit log, read back.
public struct AuditEntry: Sendable, Equatable {
    /// Its line number in the file (1-based).
    public var line: Int
    /// Its place in the chain (`seq`).
    public var sequence: Int
    public var event: AuditEvent
}

extension AuditLog {
    /// The log's entries in order, and how many lines could not be read as
    /// entries (changed or cut short: `verify` says which and how).
    public func entries() throws -> (entries: [AuditEntry], unreadable: Int) {
        let lines: [ArraySlice<UInt8>]
        do { lines = try readLines() } catch { throw AuditError.unreadable(path: logPath, reason: "\(error)") }
        var entries: [AuditEntry] = []
        var unreadable = 0
        for (index, line) in lines.enumerated() {
            guard let entry = AuditLog.entry(Array(line), line: index + 1) else {
                unreadable += 1
                continue
            }
            entries.append(entry)
        }
        return (entries, unreadable)
    }

    private static func entry(_ bytes: [UInt8], line: Int) -> AuditEntry? {
        guard let fields = try? bytes.withUnsafeBytes({ try FlatJSON.parse($0) }) else { return nil }
        var text: [String: String] = [:]
        for (key, value) in fields { text[key] = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
        guard let sequence = text["seq"].flatMap(Int.init), let time = text["time"].flatMap(UTCTime.parse),
              let user = text["user"], let vault = text["vault"], let action = text["action"],
              let ids = text["ids"], let commit = text["commit"] else { return nil }
        let event = AuditEvent(action: action, ids: ids.split(separator: " ").map(String.init),
                               commit: commit.isEmpty ? nil : commit, vault: vault, user: user, time: time)
        return AuditEntry(line: line, sequence: sequence, event: event)
    }
}
