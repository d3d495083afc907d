#if canImport(Glibc)
import Glibc
#endif
import Posix

/// Keeps `objects/pack` from piling up. Every large batch stores one pack,
/// and each pack is one more index every object lookup searches, so after
/// a batch has stored a pack, more than `packLimit` packs are consolidated
/// into one (our `PackWriter`, every object whole, none dropped:
/// unreachable ones are kept, as nothing here decides what is garbage).
/// Small writes — a one-secret `set` — store loose objects and never look
/// at the pack directory.
///
/// The new pack is installed and flushed before any old one is removed, so
/// a crash at any point leaves every object readable: at worst in two
/// packs at once, which git accepts. Packs git keeps apart (`.keep`,
/// `.promisor`) stay, and a `multi-pack-index` (written only by git)
/// turns consolidation off: its entries would name removed packs.
extension GitRepository {
    /// More packs than this are consolidated at the end of a batch that stored one.
    public static let packLimit = 16

    /// Temporary pack files a crashed libgit2 write leaves (`pack_git2_*`)
    /// are removed once this old: a live libgit2 (a fetch in another
    /// program) may be writing one now, and none takes an hour.
    static let staleTemporaryAge: Int = 3_600

    private var packDirectory: String { gitDirectory + "/objects/pack" }

    /// The packs (names without extension) whose index is in place.
    func packNames() -> [String] {
        GitRepository.entries(of: packDirectory).filter { $0.hasPrefix("pack-") && $0.hasSuffix(".idx") }.map { String($0.dropLast(4)) }
    }

    /// Consolidates the packs when there are more than `limit`; returns how
    /// many were merged into one (0: nothing done). Objects of the packs left
    /// out stay where they are.
    @discardableResult
    public func consolidatePacks(whenMoreThan limit: Int = GitRepository.packLimit) throws -> Int {
        let names = packNames()
        guard names.count > limit, !Files.exists(packDirectory + "/multi-pack-index") else { return 0 }
        let merged = names.filter { name in
            !Files.exists(packDirectory + "/" + name + ".keep") && !Files.exists(packDirectory + "/" + name + ".promisor")
        }
        guard merged.count > 1 else { return 0 }
        let incoming = gitDirectory + "/coffer-incoming"
        GitRepository.removeDirectory(incoming)
        defer { GitRepository.removeDirectory(incoming) }
        guard mkdir(incoming, 0o755) == 0 else { throw PackWriter.failure("mkdir", incoming) }
        let writer = try PackWriter(directory: incoming)
        for name in merged {
            guard let index = try PackFile(base: packDirectory + "/" + name) else {
                throw GitError.call(function: "read pack index", code: -1, message: "\(name).idx: not a version 2 pack index")
            }
            for id in index.ids {
                let object = try readObject(id)
                try object.bytes.withUnsafeBytes { _ = try writer.add(object.kind, $0) }
            }
        }
        let pack = try writer.finish()
        try install(pack)
        // The index first: a reader finding an index finds its pack.
        for name in merged where name != pack.name {
            for suffix in [".idx", ".pack", ".rev", ".bitmap", ".mtimes"] { unlink(packDirectory + "/" + name + suffix) }
        }
        try refreshPacks()
        return merged.count
    }

    /// Has the reader in use (native or libgit2's) list the packs afresh.
    func refreshPacks() throws {
        if let native {
            native.refreshPacks()
            return
        }
        let lib = try lib
        let odb = try withHandle { repo in try lib.make("git_repository_odb") { lib.repositoryODB($0, repo) } }
        defer { lib.odbFree(odb) }
        try lib.check(lib.odbRefresh(odb), "git_odb_refresh")
    }

    /// Removes what crashed pack writes left: coffer's `.git/coffer-incoming`
    /// (the caller holds the vault lock, so no coffer is writing there), and
    /// in `objects/pack` libgit2's `pack_git2_*` temporaries and packs
    /// without an index, once `staleTemporaryAge` old. Returns the names removed.
    @discardableResult
    public static func removeStalePackFiles(gitDirectory: String, now: Int = Int(time(nil))) -> [String] {
        removeDirectory(gitDirectory + "/coffer-incoming")
        let directory = gitDirectory + "/objects/pack"
        let names = entries(of: directory)
        let indexed = Set(names.filter { $0.hasSuffix(".idx") }.map { $0.dropLast(4) })
        var removed: [String] = []
        for name in names {
            let orphan = name.hasPrefix("pack-") && name.hasSuffix(".pack") && !indexed.contains(name.dropLast(5))
            guard name.hasPrefix("pack_git2_") || orphan else { continue }
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                  now - Int(info.st_mtim.tv_sec) >= staleTemporaryAge else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }
}
