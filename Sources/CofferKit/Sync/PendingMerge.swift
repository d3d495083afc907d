#if canImport(Glibc)
import Glibc
#endif
import GitStore

/// A merge `coffer sync` could not finish: `.git/coffer/merge`, never
/// committed. The work tree and HEAD stay as they were (ours), so no value
/// and no conflict marker ever lands in the work tree; both sides' sealed
/// files stay in the object database (HEAD and the remote-tracking ref hold
/// them). Each `coffer resolve` records a decision here; the merge is made
/// (recomputed from HEAD and `theirs`) once every conflict has one.
struct PendingMerge: Equatable {
    static let fileName = "coffer/merge"

    /// The commit being merged in.
    var theirs: ObjectID
    /// Where it came from, for the commit message (`origin/main`).
    var source: String
    var conflicts: [MergeConflict]
    /// Settled paths.
    var decisions: [String: Decision] = [:]
    /// Why the driver left each path (`MergeDriver.ConflictReason` codes).
    var reasons: [String: MergeDriver.ConflictReason] = [:]

    enum Decision: Equatable {
        case ours, theirs
        /// A new sealed file (`resolve --stdin`), written as this blob.
        case blob(ObjectID)
    }

    var unsettled: [MergeConflict] { conflicts.filter { decisions[$0.path] == nil } }

    var text: String {
        var text = "# coffer: a merge waiting for conflicts to be settled (coffer conflicts, coffer resolve)\n"
        text += "theirs \(theirs.hex)\nsource \(source)\n"
        func hex(_ id: ObjectID?) -> String { id?.hex ?? "-" }
        for c in conflicts { text += "conflict \(hex(c.base)) \(hex(c.ours)) \(hex(c.theirs)) \(c.path)\n" }
        for (path, reason) in reasons.sorted(by: { $0.key < $1.key }) { text += "reason \(reason.code) \(path)\n" }
        for (path, decision) in decisions.sorted(by: { $0.key < $1.key }) {
            switch decision {
            case .ours: text += "decided ours \(path)\n"
            case .theirs: text += "decided theirs \(path)\n"
            case .blob(let id): text += "decided \(id.hex) \(path)\n"
            }
        }
        return text
    }

    init(theirs: ObjectID, source: String, conflicts: [MergeConflict]) {
        self.theirs = theirs
        self.source = source
        self.conflicts = conflicts
    }

    init(parsing text: String, path: String) throws {
        var theirs: ObjectID?, source = "", conflicts: [MergeConflict] = [], decisions: [String: Decision] = [:]
        var reasons: [String: MergeDriver.ConflictReason] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let fail = VaultError.invalidTrustState(path: path, line: n + 1)
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            func id(_ field: String) throws -> ObjectID? {
                if field == "-" { return nil }
                guard let id = ObjectID(hex: field) else { throw fail }
                return id
            }
            switch fields.first {
            case "theirs" where fields.count == 2: theirs = try id(fields[1])
            case "source": source = fields.dropFirst().joined(separator: " ")
            case "conflict" where fields.count == 5:
                conflicts.append(MergeConflict(path: fields[4], base: try id(fields[1]), ours: try id(fields[2]), theirs: try id(fields[3])))
            case "reason" where fields.count == 3:
                guard let reason = MergeDriver.ConflictReason(code: fields[1]) else { throw fail }
                reasons[fields[2]] = reason
            case "decided" where fields.count == 3:
                let rest = fields[2]
                switch fields[1] {
                case "ours": decisions[rest] = .ours
                case "theirs": decisions[rest] = .theirs
                default:
                    guard let blob = try id(fields[1]) else { throw fail }
                    decisions[rest] = .blob(blob)
                }
            default: throw fail
            }
        }
        guard let theirs else { throw VaultError.invalidTrustState(path: path, line: 0) }
        self.init(theirs: theirs, source: source, conflicts: conflicts)
        self.decisions = decisions
        self.reasons = reasons
    }

    static func load(gitDirectory: String) throws -> PendingMerge? {
        try CloneFile.read(fileName, gitDirectory: gitDirectory).map { try PendingMerge(parsing: $0, path: gitDirectory + "/" + fileName) }
    }

    func save(gitDirectory: String) throws {
        try CloneFile.write(text, to: PendingMerge.fileName, gitDirectory: gitDirectory)
    }

    static func remove(gitDirectory: String) {
        unlink(gitDirectory + "/" + fileName)
    }
}
