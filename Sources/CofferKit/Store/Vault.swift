#if canImport(Glibc)
import Glibc
#endif
import Age
import AgePlugin
import GitStore
import Posix

/// A vault: a git work tree with a `.recipients` file at its root, holding
/// one sealed `<id>.age` file per secret. Every use case is a method of it
/// (see `Operations/`), returning a typed result or a plan to confirm.
///
/// The library reads no environment variable and no current directory:
/// callers pass absolute paths and settings (`CofferLocator` turns the
/// environment into them). Each vault owns its libgit2 handle, opened on
/// first use, so two vaults in one process never share state, and commands
/// that only read the work tree (get, list) never load libgit2. A vault is
/// used from one thread at a time.
public final class Vault {
    /// The work tree's root, absolute, without a trailing slash.
    public let root: String
    /// The settings it was opened with.
    public let configuration: Configuration
    /// What finishing an interrupted write had to leave for the user (a lock
    /// file held by another process); empty almost always.
    public internal(set) var notices: [VaultNotice] = []
    private var repository: GitRepository?
    /// Told when this clone's accepted readers are seeded (once per clone),
    /// so a front end can say whose readers it now trusts.
    public var onAcceptanceSeeded: ((AcceptanceSeed) -> Void)?
    /// Signs every commit this vault makes (see `CommitSigner`); nil makes
    /// them unsigned. Set by the front end, which may open the key lazily.
    public var commitSigner: CommitSigner?
    /// The plugin sessions of this vault's operations: a front end sets one
    /// with its prompter (a plugin's PIN request reaches the user through
    /// it) and gives the same batch to the plugin identities it loads.
    public var plugins: PluginBatch {
        get {
            if let pluginBatch { return pluginBatch }
            let made = PluginBatch(client: PluginClient())
            pluginBatch = made
            return made
        }
        set { pluginBatch = newValue }
    }
    private var pluginBatch: PluginBatch?
    /// What stood in the way of a work-tree update (finishing an interrupted
    /// write, or right after a commit) and was left as it is: git status and
    /// `verify` show the path as differing from the commit. Front ends report them.
    public internal(set) var obstaclesLeft: [VaultError] = []

    /// Settings a front end resolves before opening a vault.
    public struct Configuration: Sendable {
        /// Seconds a write waits for another coffer process to finish.
        public var lockTimeout: Double
        /// The author of commits when git's configuration names none, and
        /// the user the audit log names.
        public var authorName: String?
        /// Where reveals and changes are recorded; nil records nothing.
        public var audit: AuditLog?
        /// Who the audit log names when it is not the author alone: a server
        /// adds the token a request came with (`alice via token ci`).
        public var auditUser: String?

        /// The defaults: a 10 s lock wait, no author name, no audit log.
        public init(lockTimeout: Double = 10, authorName: String? = nil, audit: AuditLog? = nil) {
            self.lockTimeout = lockTimeout
            self.authorName = authorName
            self.audit = audit
        }
    }

    init(root: String, configuration: Configuration, repository: GitRepository? = nil) {
        self.root = root
        self.configuration = configuration
        self.repository = repository
    }

    /// The vault `directory` is in: the directory itself or the nearest
    /// enclosing vault. Before anything else, a write a crash interrupted is
    /// finished (one stat when there is none), unless the caller only peeks
    /// (shell completion), which must not take the lock.
    public static func open(containing directory: String, configuration: Configuration = Configuration(),
                            finishingInterruptedWrite: Bool = true) throws -> Vault {
        try Text.refuseSecretKey(directory, as: "the vault path")
        guard directory.hasPrefix("/") else { throw VaultError.notAbsolute(path: directory) }
        var dir = Paths.normalized(directory)
        while true {
            if isVault(dir) { break }
            if let unborn = UnbornClone(at: dir) {
                throw VaultError.noCheckedOutBranch(path: dir, head: unborn.head, branches: unborn.remoteBranches)
            }
            guard let parent = Paths.parent(dir) else { throw VaultError.notAVault(path: directory) }
            dir = parent
        }
        let vault = Vault(root: dir, configuration: configuration)
        if finishingInterruptedWrite { try vault.finishInterruptedWrite() }
        return vault
    }

    static func isVault(_ dir: String) -> Bool {
        Files.exists(dir + "/.git") && Files.exists(dir + "/" + RecipientsFile.fileName)
    }

    var gitDirectory: String { root + "/.git" }

    /// The commit HEAD names, read from git's files without loading
    /// libgit2; nil before the first commit or when HEAD is unreadable.
    public var headCommit: String? { HeadFile.commit(gitDirectory: gitDirectory) }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// The vault's libgit2 handle, opened on first use.
    func repo() throws -> GitRepository {
        if let repository { return repository }
        let opened = try GitRepository.open(at: root)
        // A git gc or pack-refs holds the branch's lock only for a moment.
        opened.refLockWait = configuration.lockTimeout
        repository = opened
        return opened
    }

    /// The write lock: one coffer writer per vault, across processes.
    func lock() throws -> DirectoryLock {
        do {
            return try DirectoryLock(path: gitDirectory + "/coffer.lock", timeout: configuration.lockTimeout)
        } catch FileError.busy(_, let seconds) {
            throw VaultError.locked(waitedSeconds: seconds)
        } catch {
            throw explained(error)
        }
    }

    /// git's index lock, taken with `token` (what the journal records), waiting
    /// as long as for the vault lock: git holds it only while it runs.
    func indexLock(token: String) throws -> IndexLock {
        do {
            return try IndexLock(gitDirectory: gitDirectory, token: token, timeout: configuration.lockTimeout)
        } catch FileError.busy(let path, let seconds) {
            throw VaultError.gitIndexLocked(path: path, waitedSeconds: seconds)
        }
    }

    /// Runs `body`, which writes to the vault, with its failure `explained`.
    func writing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw explained(error) }
    }

    /// A failed write told by what the user can do about it: the file
    /// system holding the vault is full, read-only or not theirs to write
    /// (the errno says so, or — when libgit2's report quotes none, which
    /// may be a stale message from an earlier call — the file system's
    /// state does), or git holds the branch's lock. Anything else is
    /// returned as it is.
    func explained(_ error: Error) -> Error {
        let problem: StorageProblem?
        switch error {
        case let error as FileError: problem = error.systemError.flatMap(StorageProblem.init(errno:))
        case VaultError.file(let error): problem = error.systemError.flatMap(StorageProblem.init(errno:))
        case GitError.system(_, let code, _): problem = StorageProblem(errno: code)
        case GitError.call: problem = StorageProblem(probing: gitDirectory)
        case GitError.refLocked(_, let lockFile, let seconds): return VaultError.gitLocked(lockFile: lockFile, waitedSeconds: seconds)
        default: problem = nil
        }
        return problem.map { VaultError.storage($0, path: root) } ?? error
    }

    /// True when HEAD names a commit rather than a branch: commits made there
    /// would vanish from the branch at the next checkout.
    var isHeadDetached: Bool {
        guard let head = try? Files.read(path: gitDirectory + "/HEAD") else { return false }
        return !head.starts(with: Array("ref: ".utf8))
    }

    /// The git operation this clone is in the middle of, if any (git keeps
    /// these files until it is finished or aborted).
    var gitOperationInProgress: String? {
        let markers = [("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert"),
                       ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase or am")]
        return markers.first { Files.exists(gitDirectory + "/" + $0.0) }?.1
    }

    /// A write interrupted by a crash leaves a journal; the next command
    /// completes (or discards) it before doing anything else. One stat when clean.
    func finishInterruptedWrite() throws {
        guard Journal.exists(gitDirectory: gitDirectory) else { return }
        let lock = try lock()
        defer { _ = lock }
        notices += try writing { try VaultTransaction.recover(vault: self) }
    }
}

/// A clone made from a remote whose HEAD names a branch it does not have
/// (a fresh `git init --bare` says `master`, the vault pushed `main`): git
/// leaves HEAD on an unborn branch and checks nothing out. Read from the
/// files, without libgit2.
struct UnbornClone {
    let head: String
    let remoteBranches: [String]

    init?(at dir: String) {
        let git = dir + "/.git"
        guard let text = try? Files.read(path: git + "/HEAD") else { return nil }
        let head = String(decoding: text, as: UTF8.self).trimming(" \n\r")
        guard head.hasPrefix("ref: refs/heads/") else { return nil }
        let ref = String(head.dropFirst("ref: ".count))
        let packed = (try? Files.read(path: git + "/packed-refs")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard !Files.exists(git + "/" + ref), !packed.contains(" " + ref + "\n") else { return nil }
        var branches = Set(packed.split(separator: "\n").compactMap { line -> String? in
            guard let name = line.split(separator: " ").last, name.hasPrefix("refs/remotes/") else { return nil }
            return String(name.dropFirst("refs/remotes/".count))
        })
        for remote in Paths.entries(of: git + "/refs/remotes") where remote.isDirectory {
            Paths.walk(git + "/refs/remotes/" + remote.name, relative: remote.name + "/") { branches.insert($0) }
        }
        branches = branches.filter { !$0.hasSuffix("/HEAD") }
        guard !branches.isEmpty else { return nil }
        self.head = String(ref.dropFirst("refs/heads/".count))
        remoteBranches = branches.sorted()
    }
}
