#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// A scope and the readers in force there.
public struct ScopeReaders: Equatable, Sendable {
    /// The scope whose `.recipients` is in force.
    public let scope: Scope
    /// Its readers.
    public let readers: [NamedRecipient]
}

/// What the work tree says: which secrets exist, which `.recipients` governs
/// each. Reads only files; libgit2 is not loaded.
extension Vault {
    /// Ids under `prefix`, sorted. Never opens a file.
    public func list(_ prefix: Prefix = .all) -> [SecretID] {
        var ids: [SecretID] = []
        if prefix.isAll {
            Paths.walk(root, relative: "") { if let id = SecretID(relativePath: $0) { ids.append(id) } }
        } else {
            if let own = try? SecretID(prefix.path), contains(own) { ids.append(own) }
            // A linked directory is not followed, wherever it is on the way.
            if Paths.firstSymlink(below: root, along: prefix.path) == nil {
                Paths.walk(path(prefix.path), relative: prefix.path + "/") { if let id = SecretID(relativePath: $0) { ids.append(id) } }
            }
        }
        return ids.sorted()
    }

    /// True when the work tree holds `id`'s sealed file (a regular file, not
    /// a link or directory, and not reached through a linked directory).
    public func contains(_ id: SecretID) -> Bool {
        var info = stat()
        return lstat(path(id.relativePath), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            && (id.directory.isEmpty || Paths.firstSymlink(below: root, along: id.directory) == nil)
    }

    /// The sealed bytes of `id` as they are in the work tree; never through a link.
    func sealedFile(_ id: SecretID) throws -> [UInt8] {
        if let link = Paths.firstSymlink(below: root, along: id.relativePath) { throw VaultError.symlinkInVault(path: link) }
        do {
            return try Files.readRegularFile(path: path(id.relativePath), limit: Sealing.maxFileSize)
        } catch FileError.open(_, let e) where e == ENOENT || e == ENOTDIR {
            throw VaultError.notFound(id: id.value)
        } catch FileError.open(_, ELOOP) {
            throw VaultError.symlinkInVault(path: id.relativePath)
        } catch FileError.notRegular {
            // A directory, FIFO or device where the file belongs: never opened for reading.
            throw VaultError.notFound(id: id.value)
        } catch FileError.tooLarge(_, let bytes, _) {
            throw VaultError.tooLarge(id: id.value, bytes: bytes, limit: Sealing.maxFileSize)
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// The readers governing `id`: the nearest `.recipients` up from its directory.
    public func readers(of id: SecretID) throws -> ScopeReaders { try readers(in: .of(id)) }

    /// The readers in force in `directory`: its own `.recipients` or the
    /// nearest one above, unless `overrides` replaces a scope's readers (a
    /// transaction that rewrites its `.recipients`; none: one it deletes).
    public func readers(in directory: Scope, overrides: [Scope: [NamedRecipient]] = [:]) throws -> ScopeReaders {
        var dir = directory
        while true {
            if let readers = overrides[dir] {
                if !readers.isEmpty { return ScopeReaders(scope: dir, readers: readers) }
            } else if let file = try recipientsFile(of: dir) {
                guard !file.entries.isEmpty else { throw VaultError.noRecipients(scope: dir) }
                return ScopeReaders(scope: dir, readers: file.entries)
            }
            guard let parent = dir.parent else { throw VaultError.noRecipients(scope: .root) }
            dir = parent
        }
    }

    /// The `.recipients` of `scope` itself, if it has one (in the work tree).
    func recipientsFile(of scope: Scope) throws -> RecipientsFile? {
        // A link could hand the choice of readers to a file outside the vault.
        guard let bytes = try workTreeFile(scope.recipientsPath) else { return nil }
        return try RecipientsFile(parsing: String(decoding: bytes, as: UTF8.self), path: scope.recipientsPath)
    }

    /// A small file coffer keeps in the work tree (a `.recipients`, the
    /// `.gitattributes`), or nil if there is none. Only a regular file
    /// reached without a link is read: never one outside the vault, and
    /// never a FIFO or device, which could block.
    func workTreeFile(_ relative: String) throws -> [UInt8]? {
        if let obstacle = Paths.obstacle(below: root, at: relative) { throw obstacle }
        do {
            return try Files.readRegularFile(path: path(relative), limit: Vault.workTreeFileLimit)
        } catch FileError.open(_, let e) where e == ENOENT || e == ENOTDIR {
            return nil
        } catch FileError.open(_, ELOOP) {
            throw VaultError.symlinkInVault(path: relative)
        } catch FileError.notRegular {
            throw VaultError.notARegularFile(path: relative)
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// Well above a `.recipients` of the most readers a scope may have.
    static let workTreeFileLimit = 4 << 20

    /// Every directory with its own `.recipients`, sorted (the root first).
    public func scopes() -> [Scope] {
        var found: [Scope] = []
        Paths.directories(below: root) { relative in
            let scope = Scope(validated: relative)
            if FileKind(atPath: path(scope.recipientsPath)) != .absent { found.append(scope) }
        }
        return found.sorted()
    }

    /// The changes whose work-tree path can be written or removed. Each other
    /// one (a link, a directory or FIFO where a file goes, a file where a
    /// directory goes: `Paths.obstacle`) is left as it stands and recorded in
    /// `obstaclesLeft`, so that finishing an interrupted write never blocks
    /// on it, nor writes through it.
    func reachable(_ changes: [TreeChange]) -> [TreeChange] {
        var scan = ObstacleScan(below: root)
        return changes.filter { change in
            guard let obstacle = scan.obstacle(at: change.path) else { return true }
            if !obstaclesLeft.contains(obstacle) { obstaclesLeft.append(obstacle) }
            return false
        }
    }

    /// The ids whose nearest `.recipients` is the one in `scope`.
    func governed(by scope: Scope) throws -> [SecretID] {
        let ids = list(Prefix(validated: scope.directory))
        return zip(ids, try governingScopes(of: ids)).filter { $0.1 == scope }.map(\.0)
    }

    /// The scope governing each id, reading each directory's `.recipients`
    /// once however many secrets it holds.
    func governingScopes(of ids: [SecretID], overrides: [Scope: [NamedRecipient]] = [:]) throws -> [Scope] {
        var known: [String: Scope] = [:]
        return try ids.map { id in
            if let scope = known[id.directory] { return scope }
            let scope = try readers(in: .of(id), overrides: overrides).scope
            known[id.directory] = scope
            return scope
        }
    }
}
