import Age

/// The three-way merge of one file both sides of a merge changed: the code
/// behind both doors, libgit2's in-process driver (`coffer sync`) and
/// `coffer merge-driver` (a stock `git merge` or `git pull`).
///
/// Sealed files merge by value, never by bytes: a side that only re-wrapped
/// or re-keyed a secret did not change it. Trust files (`.recipients`,
/// `.signers`) merge as sets of lines. Nothing else is merged here.
public enum MergeDriver {
    /// What merging one file gave.
    public enum Result: Equatable, Sendable {
        /// The merged file's bytes. For a sealed file this is one side's
        /// file as it was: re-sealing it for the merged scope's readers is
        /// the merge commit's work (or the follow-up commit's), which knows them.
        case merged([UInt8], Side)
        /// Left for a person; `reason` names no value.
        case conflict(ConflictReason)
    }

    public enum Side: String, Sendable {
        case ours, theirs, lines
    }

    public enum ConflictReason: Equatable, Sendable, CustomStringConvertible {
        /// Both sides changed the value, to different values.
        case bothChanged
        /// No identity given opens the sides, so their values cannot be compared.
        case unreadable
        /// Not a sealed file or trust file coffer merges.
        case notMerged
        /// The merged lines do not make a valid trust file (say one key under two names).
        case invalidLines

        /// A word for `.git/coffer/merge`.
        var code: String {
            switch self {
            case .bothChanged: return "both-changed"
            case .unreadable: return "unreadable"
            case .notMerged: return "not-merged"
            case .invalidLines: return "invalid-lines"
            }
        }

        init?(code: String) {
            guard let reason = [ConflictReason.bothChanged, .unreadable, .notMerged, .invalidLines].first(where: { $0.code == code }) else {
                return nil
            }
            self = reason
        }

        public var description: String {
            switch self {
            case .bothChanged: return "both sides changed the value"
            case .unreadable: return "no identity here opens both sides, so their values cannot be compared"
            case .notMerged: return "coffer merges only sealed files, .recipients and .signers"
            case .invalidLines: return "the merged lines do not make a valid file"
            }
        }
    }

    /// Merges `path` (relative to the vault root) from `base` (nil when both
    /// sides added it), `ours` and `theirs`.
    public static func merge(path: String, base: [UInt8]?, ours: [UInt8], theirs: [UInt8],
                             identities: [Identity]) -> Result {
        if ours == theirs { return .merged(ours, .ours) }
        if let id = SecretID(relativePath: path) {
            return SealedMerge.merge(id: id, base: base, ours: ours, theirs: theirs, identities: identities)
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name == RecipientsFile.fileName || path == SignersFile.fileName else { return .conflict(.notMerged) }
        let merged = LineMerge.merge(base: base.map { String(decoding: $0, as: UTF8.self) },
                                     ours: String(decoding: ours, as: UTF8.self), theirs: String(decoding: theirs, as: UTF8.self))
        // One key under two names (each side named a new reader its own
        // way) would be sealed for twice: a person picks the line.
        let valid = name == RecipientsFile.fileName
            ? (try? RecipientsFile(parsing: merged, path: path)).map { Set($0.entries.map(\.recipient)).count == $0.entries.count } ?? false
            : (try? SignersFile(parsing: merged, path: path)) != nil
        return valid ? .merged(Array(merged.utf8), .lines) : .conflict(.invalidLines)
    }
}

/// Sealed files: which side changed the value.
enum SealedMerge {
    static func merge(id: SecretID, base: [UInt8]?, ours: [UInt8], theirs: [UInt8], identities: [Identity]) -> MergeDriver.Result {
        // coffer re-wraps without touching the payload: equal payload bytes
        // are the same value (under the same file key), with no key needed.
        let (o, t) = (payload(ours), payload(theirs))
        if let o, o == t { return .merged(ours, .ours) }
        if let base, let b = payload(base) {
            if o == b { return .merged(theirs, .theirs) }
            if t == b { return .merged(ours, .ours) }
        }
        // A re-key changes the payload: compare the values themselves.
        guard let ourValue = try? Sealing.open(ours, id: id, identities: identities),
              let theirValue = try? Sealing.open(theirs, id: id, identities: identities)
        else { return .conflict(.unreadable) }
        if ourValue.constantTimeEquals(theirValue) { return .merged(ours, .ours) }
        guard let base, let baseValue = try? Sealing.open(base, id: id, identities: identities) else {
            return .conflict(base == nil ? .bothChanged : .unreadable)
        }
        if ourValue.constantTimeEquals(baseValue) { return .merged(theirs, .theirs) }
        if theirValue.constantTimeEquals(baseValue) { return .merged(ours, .ours) }
        return .conflict(.bothChanged)
    }

    /// The encrypted payload (everything after the header), nil when the
    /// file is not an age file.
    private static func payload(_ file: [UInt8]) -> ArraySlice<UInt8>? {
        guard let (_, offset) = try? Header.parse(file) else { return nil }
        return file[offset...]
    }
}

/// Trust files as sets of lines, as `TrustChain` judges an unsigned merge:
/// a line stays when neither side removed it, and arrives when either side
/// added it. Ours keeps its order and comments; theirs' additions follow.
enum LineMerge {
    static func merge(base: String?, ours: String, theirs: String) -> String {
        let baseLines = contentLines(base ?? ""), theirLines = contentLines(theirs), ourLines = contentLines(ours)
        var out: [Substring] = []
        for line in ours.split(separator: "\n", omittingEmptySubsequences: false) {
            let content = line.trimming(" \t\r")
            if content.isEmpty || content.hasPrefix("#") || !baseLines.contains(content) || theirLines.contains(content) {
                out.append(line)
            }
        }
        while out.last?.isEmpty == true { out.removeLast() }
        var added: Set<String> = []
        for line in theirs.split(separator: "\n") {
            let content = line.trimming(" \t\r")
            guard !content.isEmpty, !content.hasPrefix("#"), !baseLines.contains(content), !ourLines.contains(content),
                  added.insert(content).inserted else { continue }
            out.append(line)
        }
        return out.isEmpty ? "" : out.joined(separator: "\n") + "\n"
    }

    private static func contentLines(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").map { $0.trimming(" \t\r") }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }
}
