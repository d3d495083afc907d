import CofferKit

/// The vault as `coffer ui` shows it: each scope (a directory with its own
/// `.recipients`) with its readers' names, and the ids it governs.
struct SecretTree {
    struct Group {
        let scope: Scope
        /// Names of the scope's readers (a fingerprint where a key has no name);
        /// nil when its `.recipients` cannot be read, `problem` says why.
        let readers: [String]?
        let problem: String?
        var ids: [SecretID] = []
        /// Each id in lower case, for search.
        var folded: [[UInt8]] = []
    }

    enum Row: Equatable {
        /// A scope's heading: the group, and how many of its ids are shown.
        case scope(group: Int, shown: Int)
        case secret(SecretID, group: Int)

        var group: Int {
            switch self {
            case .scope(let group, _), .secret(_, let group): return group
            }
        }

        var id: SecretID? {
            if case .secret(let id, _) = self { return id }
            return nil
        }
    }

    private(set) var groups: [Group] = []
    var count: Int { groups.reduce(0) { $0 + $1.ids.count } }

    /// `ids` sorted, each under the nearest scope above it (the root scope
    /// takes those no other governs, and is shown even when empty).
    init(ids: [SecretID], scopes: [Scope], readers: (Scope) throws -> [NamedRecipient]) {
        let scopes = scopes.contains(.root) ? scopes : [.root] + scopes
        var index: [String: Int] = [:]
        for scope in scopes.sorted() {
            index[scope.directory] = groups.count
            do {
                let names = try readers(scope).map { $0.name ?? $0.fingerprint }
                groups.append(Group(scope: scope, readers: names, problem: nil))
            } catch {
                groups.append(Group(scope: scope, readers: nil, problem: Console.report(error).message))
            }
        }
        // The group of each directory, found once per directory walking up.
        var ofDirectory: [String: Int] = [:]
        func group(of directory: String) -> Int {
            if let known = ofDirectory[directory] { return known }
            let found = index[directory] ?? (directory.isEmpty ? 0 : group(of: SecretTree.parent(directory)))
            ofDirectory[directory] = found
            return found
        }
        for id in ids {
            let g = group(of: id.directory)
            groups[g].ids.append(id)
            groups[g].folded.append(SecretTree.folded(id.value))
        }
    }

    static func parent(_ directory: String) -> String {
        guard let slash = directory.lastIndex(of: "/") else { return "" }
        return String(directory[..<slash])
    }

    /// ASCII lower case (ids are ASCII; search ignores case).
    static func folded(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    /// The rows to show: every scope with its ids (only its heading when
    /// collapsed); with a search, only ids containing it (any case) under
    /// the headings of the scopes that have some, collapsed or not.
    func rows(matching search: String, collapsed: Set<Scope>) -> [Row] {
        let needle = SecretTree.folded(search)
        var rows: [Row] = []
        for (g, group) in groups.enumerated() {
            if needle.isEmpty {
                let open = !collapsed.contains(group.scope)
                rows.append(.scope(group: g, shown: open ? group.ids.count : 0))
                if open { rows += group.ids.map { .secret($0, group: g) } }
                continue
            }
            let heading = rows.count
            for (i, folded) in group.folded.enumerated() where SecretTree.contains(folded, needle) {
                rows.append(.secret(group.ids[i], group: g))
            }
            if rows.count > heading { rows.insert(.scope(group: g, shown: rows.count - heading), at: heading) }
        }
        return rows
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
