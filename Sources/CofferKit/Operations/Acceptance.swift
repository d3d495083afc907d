#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix

/// A reader whose access this clone has not agreed to: a `.recipients` line
/// that arrived from elsewhere (a pull) or a reader a pushed change took away.
public struct UnacceptedReader: Equatable, Sendable {
    public enum Change: String, Sendable {
        /// The reader would be able to read secrets this clone never sealed for them.
        case added
        /// An accepted reader would lose secrets they read.
        case dropped
    }

    public let change: Change
    public let reader: NamedRecipient
    /// The directory whose readers differ from the accepted ones: what
    /// `recipients accept --scope` takes.
    public let scope: Scope
    /// The newest commit that made the difference; nil when it is in the
    /// work tree only (a `.recipients` edited and not committed).
    public let introducedBy: Introduction?
    /// Why the chain of trust did not accept that commit's change (nil: the
    /// clone pinned no signers, or the commit was judged before it did).
    public var heldBack: HoldReason? = nil

    init(change: Change, reader: NamedRecipient, scope: Scope, introducedBy: Introduction?, heldBack: HoldReason? = nil) {
        self.change = change
        self.reader = reader
        self.scope = scope
        self.introducedBy = introducedBy
        self.heldBack = heldBack
    }

    /// A commit as a refusal names it. The author is the commit's own claim:
    /// until commits are signed, anyone who can push can write any name.
    public struct Introduction: Equatable, Sendable {
        public let commit: String
        public let author: String
        public let email: String
    }

    /// "mallory (fingerprint 0123456789abcdef) reading prod, added by commit
    /// 1a2b3c4d5e6f by \"Mallory\" <m@example.com>"; author text escaped.
    public var summary: String {
        let who = "\(reader.name.map(Text.quoted) ?? "an unnamed reader") (fingerprint \(reader.fingerprint))"
        let what = change == .added ? "reading \(scope), added" : "no longer reading \(scope), dropped"
        guard let commit = introducedBy else { return "\(who) \(what) in the work tree (not committed)" }
        let held = heldBack.map { ", held back: \($0)" } ?? ""
        return "\(who) \(what) by commit \(commit.commit.prefix(12)) by \(Text.quoted(commit.author)) <\(Text.quoted(commit.email).dropFirst().dropLast())>" + held
    }
}

/// How a clone came to have accepted readers the first time coffer needed them.
public struct AcceptanceSeed: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// The newest commit coffer made in this clone (its reflog says which):
        /// what was pulled since is not accepted by the upgrade.
        case ownCommit
        /// HEAD of a clone coffer never wrote: trusted on first use.
        case head
    }

    public let source: Source
    public let commit: String
    public let scopes: [ScopeReaders]
}

extension Vault {
    /// The readers this clone accepted, with every reader change a trusted
    /// signer signed since the last look (see `trusted()`).
    func acceptedReaders() throws -> AcceptedReaders {
        try trusted().accepted
    }

    /// The readers this clone accepted, seeded the first time they are needed
    /// (reported to `onAcceptanceSeeded`). The caller holds the vault lock
    /// or only reads.
    func acceptedReadersSeeded() throws -> AcceptedReaders {
        if let accepted = try AcceptedReaders.load(gitDirectory: gitDirectory) { return accepted }
        let repo = try repo()
        let own = CofferReflog.newestOwnCommit(gitDirectory: gitDirectory).flatMap { try? repo.resolve($0.hex) }
        guard let commit = try own ?? repo.head() else { return AcceptedReaders(scopes: [:]) }
        var scopes: [Scope: [NamedRecipient]] = [:]
        for entry in try repo.files(in: commit, under: "") {
            guard let scope = Vault.scope(ofRecipientsPath: entry.path) else { continue }
            let text = String(decoding: try repo.readBlob(entry.blob), as: UTF8.self)
            guard let file = try? RecipientsFile(parsing: text, path: entry.path) else { continue }
            scopes[scope] = file.entries
        }
        let accepted = AcceptedReaders(scopes: scopes)
        // A read-only clone still checks; it seeds again next time.
        try? accepted.save(gitDirectory: gitDirectory)
        onAcceptanceSeeded?(AcceptanceSeed(source: own != nil ? .ownCommit : .head, commit: commit.hex,
                                           scopes: scopes.keys.sorted().map { ScopeReaders(scope: $0, readers: scopes[$0]!) }))
        return accepted
    }

    /// The scope whose `.recipients` is at `path`, if it is one.
    static func scope(ofRecipientsPath path: String) -> Scope? {
        if path == RecipientsFile.fileName { return .root }
        guard path.hasSuffix("/" + RecipientsFile.fileName) else { return nil }
        return try? Scope(String(path.dropLast(RecipientsFile.fileName.count + 1)))
    }

    /// Every reader this clone has not accepted at or below `scope` (nil: the
    /// whole vault), as the work tree's `.recipients` files name them, with
    /// the commit that introduced each.
    public func unacceptedReaders(in scope: Scope? = nil) throws -> [UnacceptedReader] {
        let (trust, accepted) = try trusted()
        return try unaccepted(readersSnapshot(in: scope, accepted: accepted), accepted: accepted, trust: trust)
    }

    /// The readers in force at each place to check at and below `scope`:
    /// every scope, and every directory this clone accepted readers for.
    private func readersSnapshot(in scope: Scope?, accepted: AcceptedReaders) -> [Scope: ScopeReaders] {
        let within = Prefix(validated: scope?.directory ?? "")
        var snapshot: [Scope: ScopeReaders] = [:]
        for place in Set(scopes() + accepted.scopes.keys) where within.contains(path: place.directory) {
            // A `.recipients` that cannot be read (not a file, malformed) is
            // reported by verify as what it is; no readers come from it.
            snapshot[place] = try? readers(in: place)
        }
        return snapshot
    }

    private func unaccepted(_ snapshot: [Scope: ScopeReaders], accepted: AcceptedReaders, trust: TrustState?) throws -> [UnacceptedReader] {
        try snapshot.keys.sorted().flatMap { try unaccepted(in: $0, governing: snapshot[$0]!, accepted: accepted, trust: trust) }
    }

    /// What sealing in `directory` for `governing` would grant or take away
    /// beyond what this clone accepted, less the change the user asked for
    /// (`granted`, `revoked`: a `recipients add|rm` names its reader).
    func unaccepted(in directory: Scope, governing: ScopeReaders, accepted: AcceptedReaders, trust: TrustState? = nil,
                    granted: Set<ReaderKey> = [], revoked: Set<ReaderKey> = []) throws -> [UnacceptedReader] {
        let baseline = accepted.baseline(for: directory)
        let known = Set(baseline?.readers.map(\.recipient) ?? [])
        let now = Set(governing.readers.map(\.recipient))
        let added = governing.readers.filter { !known.contains($0.recipient) && !granted.contains($0.recipient) }
        let dropped = (baseline?.readers ?? []).filter { !now.contains($0.recipient) && !revoked.contains($0.recipient) }
        guard !added.isEmpty || !dropped.isEmpty else { return [] }
        // The deeper of the two: a new sub-scope, or one deleted since it was accepted.
        let place = [governing.scope, baseline?.scope ?? .root].max { $0.directory.count < $1.directory.count }!
        let finder = try IntroductionFinder(vault: self, directory: directory)
        func reader(_ change: UnacceptedReader.Change, _ named: NamedRecipient) throws -> UnacceptedReader {
            let present = change == .added
            // Only a committed difference has a commit to name; one in the work tree alone has none.
            guard let newest = try finder.find(named.recipient, present: present) else {
                return UnacceptedReader(change: change, reader: named, scope: place, introducedBy: nil)
            }
            if let (commit, reason) = try finder.heldIntroduction(named.recipient, present: present, held: trust?.held ?? []) {
                return UnacceptedReader(change: change, reader: named, scope: place, introducedBy: commit, heldBack: reason)
            }
            return UnacceptedReader(change: change, reader: named, scope: place, introducedBy: newest)
        }
        return try added.map { try reader(.added, $0) } + dropped.map { try reader(.dropped, $0) }
    }

    /// Accepts the readers the work tree's `.recipients` files name at and
    /// below `scope` (nil: everywhere), after a person looked: `shown` is
    /// what they were shown, and anything else there now is refused. Returns
    /// what was newly accepted.
    public func acceptReaders(in scope: Scope?, shown: [UnacceptedReader]) throws -> [UnacceptedReader] {
        let lock = try lock()
        defer { _ = lock }
        var (trust, accepted) = try trusted()
        // One reading of the work tree, both compared with what was shown and
        // stored: a pull in between cannot slip in unseen.
        let snapshot = readersSnapshot(in: scope, accepted: accepted)
        let pending = try unaccepted(snapshot, accepted: accepted, trust: trust)
        guard pending == shown else { throw VaultError.acceptanceChanged }
        let within = Prefix(validated: scope?.directory ?? "")
        accepted.scopes = accepted.scopes.filter { !within.contains(path: $0.key.directory) }
        for (place, governing) in snapshot where governing.scope == place {
            accepted.scopes[place] = governing.readers
        }
        try accepted.save(gitDirectory: gitDirectory)
        return pending
    }
}

/// Finds the commit that made a reader govern a directory (or stop governing
/// it): walking HEAD's first-parent chain, the newest commit after which the
/// answer is what the work tree says.
///
/// Each tree's governing readers are read once and kept: the walk is asked
/// about every unaccepted reader, and a pushed `.recipients` may name a
/// thousand, which must not make a command parse the file a million times.
private final class IntroductionFinder {
    let repo: GitRepository
    let walker: PathWalker
    let chain: [(commit: ObjectID, tree: ObjectID)]
    let directory: Scope
    private var governing: [ObjectID: Set<ReaderKey>] = [:]

    init(vault: Vault, directory: Scope) throws {
        let repo = try vault.repo(), walker = try PathWalker(repo)
        self.repo = repo
        self.walker = walker
        chain = try repo.head().map { try walker.chain(from: $0) } ?? []
        self.directory = directory
    }

    /// The oldest held-back commit that made the difference (its first
    /// parent lacks it, it has it), if any: a stock merge that carried it in
    /// is not where the line came from.
    func heldIntroduction(_ reader: ReaderKey, present: Bool, held: [HeldChange]) throws -> (UnacceptedReader.Introduction, HoldReason)? {
        for change in held {
            let node = try repo.node(change.commit)
            guard try governs(reader, in: node.tree) == present else { continue }
            let before = try node.parents.first.map { try governs(reader, in: try repo.node($0).tree) } ?? !present
            guard before != present else { continue }
            let info = try walker.info(change.commit)
            return (.init(commit: info.id.hex, author: info.author.name, email: info.author.email), change.reason)
        }
        return nil
    }

    func find(_ reader: ReaderKey, present: Bool) throws -> UnacceptedReader.Introduction? {
        guard let newest = chain.first, try governs(reader, in: newest.tree) == present else { return nil }
        var introduced = newest.commit
        for link in chain.dropFirst() {
            if try governs(reader, in: link.tree) != present { break }
            introduced = link.commit
        }
        let info = try walker.info(introduced)
        return .init(commit: info.id.hex, author: info.author.name, email: info.author.email)
    }

    /// True when the nearest `.recipients` at or above the directory in `tree` names `reader`.
    private func governs(_ reader: ReaderKey, in tree: ObjectID) throws -> Bool {
        if let known = governing[tree] { return known.contains(reader) }
        var readers: Set<ReaderKey> = []
        var dir: Scope? = directory
        while let d = dir {
            if let blob = try walker.blob(at: d.recipientsPath, inTree: tree) {
                let text = String(decoding: try repo.readBlob(blob), as: UTF8.self)
                readers = Set((try? RecipientsFile(parsing: text, path: d.recipientsPath))?.entries.map(\.recipient) ?? [])
                break
            }
            dir = d.parent
        }
        governing[tree] = readers
        return readers.contains(reader)
    }
}

/// The reflog of HEAD, read as text: entries coffer wrote say `coffer: …`,
/// and a pull, checkout or merge never does.
enum CofferReflog {
    /// What a fast-forward by `coffer sync` writes: HEAD moved to another
    /// clone's commit, which coffer did not make, so not `coffer: …`.
    static let fastForward = "sync: fast-forward (coffer)"

    /// The commit of the newest entry coffer wrote, read from the end of
    /// the reflog back (a window that doubles until it holds one): the log
    /// gains a line with every commit, and reading it whole made each write
    /// slower than the last.
    static func newestOwnCommit(gitDirectory: String) -> ObjectID? {
        let fd = open(gitDirectory + "/logs/HEAD", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let size = Int(info.st_size)
        var window = min(size, 8192)
        while window > 0 {
            var bytes = [UInt8](repeating: 0, count: window)
            guard bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, window, off_t(size - window)) }) == window else { return nil }
            // The first line of a window that does not start the file may be cut: skipped.
            var lines = bytes.split(separator: 0x0a)
            if window < size, !lines.isEmpty { lines.removeFirst() }
            for line in lines.reversed() {
                if let id = ownCommit(line) { return id }
            }
            if window == size { return nil }
            window = min(size, window * 2)
        }
        return nil
    }

    /// The new id of a reflog line whose message starts "coffer: ".
    private static func ownCommit(_ line: ArraySlice<UInt8>) -> ObjectID? {
        guard let tab = line.firstIndex(of: 0x09), line[(tab + 1)...].starts(with: Array("coffer: ".utf8)) else { return nil }
        let fields = line[..<tab].split(separator: 0x20)
        guard fields.count > 1 else { return nil }
        return ObjectID(hex: String(decoding: fields[1], as: UTF8.self))
    }
}
