#if canImport(Glibc)
import Glibc
#endif
import Posix

/// Path arithmetic and directory walks over the work tree (no current
/// directory: every path here is absolute or relative to the vault root).
enum Paths {
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + joined(parts[...])
    }

    /// `parts` with "/" between them. Written out: the generic `joined` and
    /// `String + Substring` look up protocol witnesses at run time, about
    /// 0.2 M instructions each on the first call, which every `get` makes.
    static func joined(_ parts: ArraySlice<Substring>) -> String {
        var path = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { path.append("/") }
            path.append(contentsOf: part)
        }
        return path
    }

    static func parent(_ path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The first component of `relative` below `root` that is a symlink, if any.
    static func firstSymlink(below root: String, along relative: String) -> String? {
        var current = root
        for part in relative.split(separator: "/") {
            current.append("/")
            current.append(contentsOf: part)
            var info = stat()
            guard lstat(current, &info) == 0 else { return nil }
            if info.st_mode & S_IFMT == S_IFLNK { return String(current.dropFirst(root.count + 1)) }
        }
        return nil
    }

    /// Why the work-tree file at `relative` below `root` must be neither
    /// read nor written, if it must not: a link on the way or in its place
    /// (it leads out of the vault, or anywhere), something other than a
    /// directory on the way, or something other than a regular file in its
    /// place (a directory — which is also how git checks out a gitlink — a
    /// FIFO, socket or device). What is absent is no obstacle: it is created.
    static func obstacle(below root: String, at relative: String) -> VaultError? {
        guard isWorkTreePath(relative) else { return .unsafePath(path: relative) }
        let parts = relative.split(separator: "/")
        var current = root
        for (index, part) in parts.enumerated() {
            current.append("/")
            current.append(contentsOf: part)
            let shown = joined(parts[...index])
            let last = index == parts.count - 1
            switch FileKind(atPath: current) {
            case .absent: return nil
            case .symlink: return .symlinkInVault(path: shown)
            case .directory where !last, .regular where last: continue
            default: return last ? .notARegularFile(path: shown) : .notADirectory(path: shown)
            }
        }
        return nil
    }

    /// False for a path no work tree may hold, which a hand-made tree
    /// pushed by anyone can carry: a `..` leads out of the vault, and a
    /// `.git` (in any case, as git refuses it) into the repository's own
    /// hooks and config. Control characters have no place in a vault path
    /// either, and would break the line-based records under `.git/coffer`.
    static func isWorkTreePath(_ relative: String) -> Bool {
        !relative.isEmpty && !relative.hasPrefix("/") && !relative.hasSuffix("/")
            && relative.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy { part in
                // In UTF-8 a byte below 0x80 is always that ASCII character.
                !part.isEmpty && !part.elementsEqual(".".utf8) && !part.elementsEqual("..".utf8) && !isDotGit(part)
                    && !part.contains { $0 < 0x20 || $0 == 0x7f }
            }
    }

    /// `.git` in any case; a name that is not ASCII is lowercased as Unicode
    /// says (as the String comparison did), an ASCII one byte by byte.
    private static func isDotGit(_ part: Substring.UTF8View) -> Bool {
        guard part.allSatisfy({ $0 < 0x80 }) else { return String(Substring(part)).lowercased() == ".git" }
        return part.count == 4 && part.map { $0 | 0x20 }.elementsEqual(".git".utf8.map { $0 | 0x20 })
    }

    static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec : nil
    }

    /// Removes `.coffer-tmp-*` files a killed writer left in `dir`.
    static func removeTemporaries(in dir: String) {
        for entry in entries(of: dir) where entry.name.hasPrefix(".coffer-tmp-") { unlink(dir + "/" + entry.name) }
    }

    /// Removes the `.coffer-tmp-PID-…` files in `dir` whose process is gone.
    /// For `.git/coffer`, where a reader saving this clone's trust state
    /// (without the vault lock) may hold one between naming and renaming it:
    /// only a dead writer's are swept.
    static func removeDeadTemporaries(in dir: String) {
        for entry in entries(of: dir) where entry.name.hasPrefix(".coffer-tmp-") {
            let pid = entry.name.dropFirst(".coffer-tmp-".count).prefix { $0 != "-" }
            guard let pid = Int32(pid), pid > 0, kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(dir + "/" + entry.name)
        }
    }

    /// Calls `visit` with the relative path of every regular file below `dir`,
    /// skipping names that start with "." (git, scopes, temporaries).
    /// Directories nested deeper than any id goes (128 segments) hold no
    /// secret and are not descended into, however deep they go.
    static func walk(_ dir: String, relative: String, depth: Int = 0, _ visit: (String) -> Void) {
        guard depth <= SecretID.maxLength / 2 else { return }
        for entry in entries(of: dir) where !entry.name.hasPrefix(".") {
            if entry.isDirectory { walk(dir + "/" + entry.name, relative: relative + entry.name + "/", depth: depth + 1, visit) }
            if entry.isFile { visit(relative + entry.name) }
        }
    }

    /// Calls `visit` with every directory at or below `root` ("" for the root
    /// itself, then paths relative to it), skipping names that start with
    /// "." and never following links; no deeper than any id goes.
    static func directories(below root: String, _ visit: (String) -> Void) {
        func descend(_ relative: String, _ depth: Int) {
            visit(relative)
            guard depth < SecretID.maxLength / 2 else { return }
            for entry in entries(of: relative.isEmpty ? root : root + "/" + relative) where entry.isDirectory && !entry.name.hasPrefix(".") {
                descend(relative.isEmpty ? entry.name : relative + "/" + entry.name, depth + 1)
            }
        }
        descend("", 0)
    }

    /// The entries of `dir` (without `.` and `..`); symlinks are neither
    /// directories nor files here, so walks never follow them.
    static func entries(of dir: String) -> [(name: String, isDirectory: Bool, isFile: Bool)] { Files.entries(of: dir) }
}
