import Posix

/// `Paths.obstacle` for many paths at once: each directory on the way is
/// looked at once, however many paths run through it — a re-key writes
/// thousands of files into a few directories, and looking at every
/// component of every path was most of the time its checks took.
/// A verdict holds for one scan: the work tree can change after it.
struct ObstacleScan {
    let root: String
    /// Keyed by String, as elsewhere: each new key type costs a conformance scan.
    private var directories: [String: Verdict] = [:]

    private enum Verdict {
        case directory
        /// Nothing there: it and what is below it are created.
        case absent
        case obstacle(VaultError)
    }

    init(below root: String) { self.root = root }

    /// What `Paths.obstacle(below: root, at: relative)` says.
    mutating func obstacle(at relative: String) -> VaultError? {
        guard Paths.isWorkTreePath(relative) else { return .unsafePath(path: relative) }
        if let slash = relative.lastIndex(of: "/") {
            switch verdict(relative[..<slash]) {
            case .absent: return nil
            case .obstacle(let error): return error
            case .directory: break
            }
        }
        switch FileKind(atPath: root + "/" + relative) {
        case .absent, .regular: return nil
        case .symlink: return .symlinkInVault(path: relative)
        default: return .notARegularFile(path: relative)
        }
    }

    private mutating func verdict(_ directory: Substring) -> Verdict {
        let key = String(directory)
        if let known = directories[key] { return known }
        var result: Verdict?
        if let slash = directory.lastIndex(of: "/") {
            let parent = verdict(directory[..<slash])
            if case .directory = parent {} else { result = parent }
        }
        if result == nil {
            switch FileKind(atPath: root + "/" + key) {
            case .absent: result = .absent
            case .directory: result = .directory
            case .symlink: result = .obstacle(.symlinkInVault(path: key))
            default: result = .obstacle(.notADirectory(path: key))
            }
        }
        directories[key] = result
        return result!
    }
}
