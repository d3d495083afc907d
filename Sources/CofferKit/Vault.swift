#if canImport(Glibc)
import Glibc
#endif
import Age

/// A vault: a git work tree with a `.recipients` file at its root, holding
/// one sealed `<id>.age` file per secret.
///
/// Reads (open, list) use the work tree only and never load libgit2; writes
/// go through `VaultTransaction`, which commits first and updates the work
/// tree after, under a lock, with a journal that lets the next command
/// finish an interrupted write.
public final class Vault {
    public let root: String

    init(root: String) { self.root = root }

    /// `--vault`, then `COFFER_VAULT`, then the nearest enclosing vault of the
    /// current directory. Before any command looks at the vault, a write a
    /// crash interrupted is finished (one stat when there is none).
    public static func locate(explicit: String?) throws -> Vault {
        let vault = try find(explicit: explicit)
        try vault.finishInterruptedWrite()
        return vault
    }

    private static func find(explicit: String?) throws -> Vault {
        if let dir = explicit ?? Environment.value("COFFER_VAULT"), !dir.isEmpty {
            let absolute = Paths.absolute(dir)
            guard isVault(absolute) else { throw VaultError.notAVault(path: dir) }
            return Vault(root: absolute)
        }
        var dir = Paths.absolute(".")
        while true {
            if isVault(dir) { return Vault(root: dir) }
            guard let parent = Paths.parent(dir) else { throw VaultError.notAVault(path: Paths.absolute(".")) }
            dir = parent
        }
    }

    static func isVault(_ dir: String) -> Bool {
        Files.exists(dir + "/.git") && Files.exists(dir + "/" + RecipientsFile.fileName)
    }

    var gitDirectory: String { root + "/.git" }

    /// True when HEAD names a commit rather than a branch: commits made there
    /// would vanish from the branch at the next checkout.
    static func isHeadDetached(gitDirectory: String) -> Bool {
        guard let head = try? Files.read(path: gitDirectory + "/HEAD") else { return false }
        return !head.starts(with: Array("ref: ".utf8))
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// The readers governing `id`: the nearest `.recipients` up from its directory.
    public func scope(for id: SecretID) throws -> (directory: String, readers: [NamedRecipient]) {
        try scope(ofDirectory: id.directory)
    }

    func scope(for id: SecretID, overrides: [String: [NamedRecipient]]) throws -> (directory: String, readers: [NamedRecipient]) {
        try scope(ofDirectory: id.directory, overrides: overrides)
    }

    /// The readers in force for secrets in `directory` ("" is the root): its
    /// own `.recipients` or the nearest one above, unless `overrides` replaces
    /// a scope's readers (a transaction that rewrites its `.recipients`).
    public func scope(ofDirectory directory: String, overrides: [String: [NamedRecipient]] = [:]) throws
        -> (directory: String, readers: [NamedRecipient]) {
        var dir = directory
        while true {
            if let readers = overrides[dir] { return (dir, readers) }
            if let file = try recipientsFile(ofDirectory: dir) {
                guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: dir) }
                return (dir, file.entries)
            }
            guard !dir.isEmpty else { throw VaultError.noRecipients(scope: "") }
            dir = dir.contains("/") ? String(dir[..<dir.lastIndex(of: "/")!]) : ""
        }
    }

    /// The `.recipients` of `directory` itself, if it has one (in the work tree).
    public func recipientsFile(ofDirectory directory: String) throws -> RecipientsFile? {
        let relative = (directory.isEmpty ? "" : directory + "/") + RecipientsFile.fileName
        let file = path(relative)
        var info = stat()
        guard lstat(file, &info) == 0 else { return nil }
        // A link could hand the choice of readers to a file outside the vault.
        guard info.st_mode & S_IFMT == S_IFREG else { throw VaultError.symlinkInVault(path: relative) }
        return try RecipientsFile(parsing: String(decoding: try Files.read(path: file), as: UTF8.self), path: file)
    }

    /// The sealed bytes of `id` as they are in the work tree.
    public func sealedFile(_ id: SecretID) throws -> [UInt8] {
        do {
            return try Files.read(path: path(id.relativePath))
        } catch FileError.open(_, let e) where e == ENOENT || e == ENOTDIR {
            throw VaultError.notFound(id: id.value)
        }
    }

    /// True when the work tree holds `id`'s sealed file (a regular file, not a link or directory).
    public func contains(_ id: SecretID) -> Bool {
        var info = stat()
        return lstat(path(id.relativePath), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// The value of `id`, after checking that the file is bound to `id`.
    /// Reads take no lock; a file met while a writer rewrites it in place
    /// fails authentication, so on failure during a write (the journal is
    /// there) the read waits for the writer and tries once more.
    public func open(_ id: SecretID, identities: [Identity]) throws -> SecureBytes {
        do {
            return try Sealing.open(try sealedFile(id), id: id, identities: identities)
        } catch let error as VaultError where Journal.exists(gitDirectory: gitDirectory) {
            guard case .cannotDecrypt = error else { throw error }
            try finishInterruptedWrite()
            return try Sealing.open(try sealedFile(id), id: id, identities: identities)
        }
    }

    /// Ids under `prefix` (a whole-segment prefix: `prod` matches `prod/x` and
    /// `prod` itself, not `production`), sorted. Never opens a file.
    public func list(prefix: String = "") throws -> [SecretID] {
        let trimmed = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        var ids: [SecretID] = []
        if trimmed.isEmpty {
            Paths.walk(root, relative: "") { if let id = SecretID(relativePath: $0) { ids.append(id) } }
        } else {
            let scopeID = try SecretID(trimmed)
            if contains(scopeID) { ids.append(scopeID) }
            Paths.walk(path(trimmed), relative: trimmed + "/") { if let id = SecretID(relativePath: $0) { ids.append(id) } }
        }
        return ids.sorted()
    }

    /// Every scope directory with its own `.recipients` ("" is the root), sorted.
    public func scopes() -> [String] {
        var found: [String] = []
        func visit(_ relative: String) {
            let dir = relative.isEmpty ? root : path(relative)
            if Files.exists(dir + "/" + RecipientsFile.fileName) { found.append(relative) }
            for entry in Paths.entries(of: dir) where entry.isDirectory && !entry.name.hasPrefix(".") {
                visit(relative.isEmpty ? entry.name : relative + "/" + entry.name)
            }
        }
        visit("")
        return found.sorted()
    }

    /// The ids whose nearest `.recipients` is the one in `scope`.
    public func governed(by scope: String) throws -> [SecretID] {
        let ids = try list(prefix: scope)
        return zip(ids, try scopeDirectories(of: ids)).filter { $0.1 == scope }.map(\.0)
    }

    /// The scope directory governing each id, reading each directory's
    /// `.recipients` once however many secrets it holds.
    public func scopeDirectories(of ids: [SecretID]) throws -> [String] {
        var known: [String: String] = [:]
        return try ids.map { id in
            if let dir = known[id.directory] { return dir }
            let dir = try scope(for: id).directory
            known[id.directory] = dir
            return dir
        }
    }

    /// A write interrupted by a crash leaves a journal; the next command
    /// completes (or discards) it before doing anything else. One stat when clean.
    func finishInterruptedWrite() throws {
        guard Journal.exists(gitDirectory: gitDirectory) else { return }
        let lock = try VaultLock(gitDirectory: gitDirectory)
        defer { _ = lock }
        try VaultTransaction.recover(vault: self)
    }
}

enum Paths {
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return normalized(path) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return normalized(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/" + path)
    }

    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The first component of `relative` below `root` that is a symlink, if any.
    static func firstSymlink(below root: String, along relative: String) -> String? {
        var current = root
        for part in relative.split(separator: "/") {
            current += "/" + part
            var info = stat()
            guard lstat(current, &info) == 0 else { return nil }
            if info.st_mode & S_IFMT == S_IFLNK { return String(current.dropFirst(root.count + 1)) }
        }
        return nil
    }

    static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec : nil
    }

    /// Removes `.coffer-tmp-*` files a killed writer left in `dir`.
    static func removeTemporaries(in dir: String) {
        for entry in entries(of: dir) where entry.name.hasPrefix(".coffer-tmp-") { unlink(dir + "/" + entry.name) }
    }

    /// Calls `visit` with the relative path of every regular file below `dir`,
    /// skipping names that start with "." (git, scopes, temporaries).
    static func walk(_ dir: String, relative: String, _ visit: (String) -> Void) {
        for entry in entries(of: dir) where !entry.name.hasPrefix(".") {
            if entry.isDirectory { walk(dir + "/" + entry.name, relative: relative + entry.name + "/", visit) }
            if entry.isFile { visit(relative + entry.name) }
        }
    }

    /// The entries of `dir` (without `.` and `..`); symlinks are neither
    /// directories nor files here, so walks never follow them.
    static func entries(of dir: String) -> [(name: String, isDirectory: Bool, isFile: Bool)] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var result: [(String, Bool, Bool)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                // Some file systems do not report types in readdir.
                var info = stat()
                guard lstat(dir + "/" + name, &info) == 0 else { continue }
                type = info.st_mode & S_IFMT == S_IFDIR ? Int32(DT_DIR) : info.st_mode & S_IFMT == S_IFREG ? Int32(DT_REG) : Int32(DT_UNKNOWN)
            }
            result.append((name, type == Int32(DT_DIR), type == Int32(DT_REG)))
        }
        return result
    }
}
