#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix
import GitStore

/// Something `verify` found out of line. None of these carries a value.
public enum Drift: Equatable, Sendable {
    /// A scope's `.recipients` differs from the committed one (a hand edit).
    case recipientsEdited(scope: Scope)
    /// The sealed file is not sealed for exactly its scope's readers: a
    /// `.recipients` changed without re-wrapping, or the file came from
    /// another scope. `missing` and `extra` are reader fingerprints.
    case wrongReaders(id: SecretID, scope: Scope, missing: [String], extra: [String])
    /// The sealed file is bound to another id (copied or moved by hand).
    case boundElsewhere(id: SecretID, boundTo: String)
    /// The sealed file does not parse or does not decrypt for a reader it names.
    case damaged(id: SecretID, cause: VaultError)
    /// A `.age` file in the work tree that the vault's history does not hold.
    case orphan(path: String)
    /// A `.gitattributes` that leaves sealed files open to git's end-of-line
    /// conversion or merge markers: the root one without coffer's line in
    /// force (fixable), or one below it that sets a conversion.
    case attributesUnprotected(path: String)
    /// The work tree's copy of a committed secret is missing or differs.
    case workTreeDiffers(id: SecretID)
    /// A reader this clone has not accepted (a pulled `.recipients` line),
    /// or an accepted one a pushed change left out. Only a person settles it,
    /// with `recipients accept` or by undoing the change.
    case unacceptedReader(UnacceptedReader)

    /// Whether `verify --fix` repairs it.
    public var isFixable: Bool {
        switch self {
        case .recipientsEdited, .wrongReaders, .orphan, .workTreeDiffers: return true
        case .attributesUnprotected(let path): return path == Attributes.fileName
        case .boundElsewhere, .damaged, .unacceptedReader: return false
        }
    }
}

/// What `verify` found.
public struct VerifyReport: Sendable {
    /// Everything out of line, in the order found.
    public internal(set) var drift: [Drift] = []
    /// Committed secrets checked, and how many of them were also decrypted.
    public internal(set) var checked = 0
    public internal(set) var decrypted = 0
}

extension Vault {
    /// Checks every committed secret under `prefix`: it parses, is bound to
    /// its path, is sealed for exactly its scope's readers (the fingerprints
    /// in its binding and its number of X25519 stanzas), and — where one of
    /// `identities` is among them — decrypts, which also authenticates the
    /// binding. Also reports hand-edited `.recipients`, `.age` files git does
    /// not track, and work-tree copies that differ from the commit.
    public func verify(_ prefix: Prefix = .all, identities: [Identity]) throws -> VerifyReport {
        var report = VerifyReport()
        let repo = try repo()
        guard let head = try repo.head() else { return report }

        for scope in scopes() where prefix.overlaps(scope) {
            let file = scope.recipientsPath
            let committed = try repo.blob(at: file, in: head).map { try repo.readBlob($0) }
            // One that is not a regular file (a link, a FIFO) differs from any commit.
            if committed != ((try? workTreeFile(file)) ?? nil) { report.drift.append(.recipientsEdited(scope: scope)) }
        }
        // A committed `.recipients` deleted from the work tree is a hand edit too.
        let committedFiles = try repo.files(in: head, under: "")
        let present = Set(scopes())
        for entry in committedFiles where entry.path == RecipientsFile.fileName || entry.path.hasSuffix("/" + RecipientsFile.fileName) {
            guard let scope = try? Scope(String(entry.path.dropLast(RecipientsFile.fileName.count))) else { continue }
            if !present.contains(scope), prefix.overlaps(scope) { report.drift.append(.recipientsEdited(scope: scope)) }
        }

        let entries = committedFiles.filter { entry in
            SecretID(relativePath: entry.path).map(prefix.contains) ?? false
        }
        let tracked = Set(entries.map(\.path))
        let ids = entries.map { SecretID(relativePath: $0.path)! }
        var jobs: [(id: SecretID, file: [UInt8], readers: [NamedRecipient], scope: Scope)] = []
        var readersOf: [Scope: [NamedRecipient]] = [:]
        var scopeOf: [String: Scope] = [:]
        for (id, entry) in zip(ids, entries) {
            let scope: Scope
            do {
                scope = try scopeOf[id.directory] ?? readers(in: .of(id)).scope
            } catch let error as VaultError where error.isObstacle {
                // A link, or a file, where its directory goes: the work tree
                // can say neither who reads it nor hold its copy.
                report.drift.append(.workTreeDiffers(id: id))
                continue
            }
            scopeOf[id.directory] = scope
            if readersOf[scope] == nil { readersOf[scope] = try readers(in: scope).readers }
            jobs.append((id, try repo.readBlob(entry.blob), readersOf[scope]!, scope))
        }
        let mine = Set(identities.compactMap { ($0 as? any KeyIdentity).map { Fingerprint.of($0.recipient) } })
        let results = try Parallel.map(jobs) { job -> (Drift?, Bool) in
            Vault.check(job.file, id: job.id, scope: job.scope, readers: job.readers, mine: mine, identities: identities)
        }
        for (job, (drift, decrypted)) in zip(jobs, results) {
            report.checked += 1
            if decrypted { report.decrypted += 1 }
            if let drift { report.drift.append(drift) }
            // A link in its place differs even if it leads to the same bytes: reads refuse it.
            let linked = Paths.firstSymlink(below: root, along: job.id.relativePath) != nil
            if linked || (try? Files.readRegularFile(path: path(job.id.relativePath), limit: Sealing.maxFileSize)) != job.file {
                report.drift.append(.workTreeDiffers(id: job.id))
            }
        }

        let walkRoot = prefix.isAll ? root : path(prefix.path)
        // Files reached through a linked directory are outside the vault: not orphans.
        if prefix.isAll || Paths.firstSymlink(below: root, along: prefix.path) == nil {
            Paths.walk(walkRoot, relative: prefix.isAll ? "" : prefix.path + "/") { relative in
                if relative.hasSuffix(SecretID.fileExtension), !tracked.contains(relative) { report.drift.append(.orphan(path: relative)) }
            }
        }
        report.drift += unprotectingAttributes().map { .attributesUnprotected(path: $0) }
        report.drift += try unacceptedReaders(in: Scope(validated: prefix.path)).map { .unacceptedReader($0) }
        return report
    }

    private static func check(_ file: [UInt8], id: SecretID, scope: Scope, readers: [NamedRecipient],
                              mine: Set<String>, identities: [Identity]) -> (Drift?, Bool) {
        let bound: (id: String, fingerprints: [String])
        do {
            bound = try Sealing.boundReaders(of: file, id: id)
        } catch let error as VaultError {
            return (.damaged(id: id, cause: error), false)
        } catch {
            return (.damaged(id: id, cause: .missingBinding(id: id.value)), false)
        }
        guard bound.id == id.value else { return (.boundElsewhere(id: id, boundTo: bound.id), false) }
        var decrypted = false
        if !mine.isDisjoint(with: bound.fingerprints) {
            do {
                _ = try Sealing.open(file, id: id, identities: identities)
                decrypted = true
            } catch let error as VaultError {
                return (.damaged(id: id, cause: error), false)
            } catch {
                return (.damaged(id: id, cause: .missingBinding(id: id.value)), false)
            }
        }
        guard !Sealing.isSealed(file, id: id, for: readers) else { return (nil, decrypted) }
        let wanted = readers.map(\.fingerprint)
        return (.wrongReaders(id: id, scope: scope, missing: wanted.filter { !bound.fingerprints.contains($0) },
                              extra: bound.fingerprints.filter { !wanted.contains($0) }), decrypted)
    }
}

extension Vault {
    /// Plans repairing what `verify` found, as far as it can: a hand-edited
    /// `.recipients` is adopted (committed) and every secret sealed for the
    /// wrong readers is re-sealed for its scope, in one commit; orphan files
    /// (and work-tree copies that differ from the commit) are moved aside to
    /// `.git/coffer-orphans/<time>/`, never deleted, and committed secrets
    /// missing from the work tree are written back (`ChangeOutcome.setAside`),
    /// as is a committed `.recipients` deleted by hand.
    /// Adopting a `.recipients` none of `me` is in is a risk to confirm.
    public func planFix(_ report: VerifyReport, me: Set<X25519Recipient>?) throws -> ChangePlan {
        // Re-sealing there would grant (or take) access no one here agreed to;
        // `--yes` never does: refused before anything, even a file, is moved.
        // Only a `.recipients` deleted by hand is fine: the fix writes it back.
        var restored: Set<Scope> = []
        for case .recipientsEdited(let scope) in report.drift where try recipientsFile(of: scope) == nil { restored.insert(scope) }
        let unaccepted = report.drift.compactMap { drift -> UnacceptedReader? in
            guard case .unacceptedReader(let reader) = drift else { return nil }
            return reader.introducedBy == nil && restored.contains(reader.scope) ? nil : reader
        }
        guard unaccepted.isEmpty else { throw VaultError.unacceptedReaders(unaccepted) }
        var loose = report.drift.compactMap { drift -> String? in
            switch drift {
            case .orphan(let path): return path
            case .workTreeDiffers(let id): return id.relativePath
            default: return nil
            }
        }
        var changes: [VaultChange] = []
        var adopted: [ScopeReaders] = []
        var resealed: Set<SecretID> = []
        // Only committed secrets are re-sealed: an orphan file in the work
        // tree is set aside, and re-sealing it would fail as not found.
        let repo = try repo()
        let head = try repo.head()
        for case .recipientsEdited(let scope) in report.drift {
            // Deleted by hand: the committed file is written back.
            guard let file = try recipientsFile(of: scope) else {
                loose.append(scope.recipientsPath)
                continue
            }
            changes.append(.setReaders(scope, file))
            adopted.append(ScopeReaders(scope: scope, readers: file.entries))
            for id in try governed(by: scope) {
                guard let head, try repo.blob(at: id.relativePath, in: head) != nil else { continue }
                if resealed.insert(id).inserted { changes.append(.rewrap(id)) }
            }
        }
        for case .wrongReaders(let id, _, _, _) in report.drift where resealed.insert(id).inserted {
            changes.append(.rewrap(id))
        }
        for case .attributesUnprotected(Attributes.fileName) in report.drift {
            let current = ((try? workTreeFile(Attributes.fileName)) ?? nil).map { String(decoding: $0, as: UTF8.self) } ?? ""
            changes.append(.setAttributes(Attributes.repaired(current)))
        }
        var plan = ChangePlan(action: .fix, changes: changes, readers: adopted, secretCount: resealed.count,
                              risks: ChangePlan.unreadable(adopted, by: me))
        plan.workTreeRepairs = loose
        return plan
    }

    /// Under the lock: moves `paths` (orphans, or copies that differ from the
    /// commit) aside, then writes back the committed files among them.
    func repairWorkTree(_ paths: [String]) throws -> [String] {
        let lock = try lock()
        defer { _ = lock }
        let repo = try repo()
        try VaultTransaction.finishInterruptedWrite(self, repo: repo)
        let head = try repo.head()
        var now = time(nil), parts = tm()
        gmtime_r(&now, &parts)
        let fields: [Int32] = [parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec]
        let digits = fields.map { $0 < 10 ? "0\($0)" : "\($0)" }
        let stamp = digits[0...2].joined() + "T" + digits[3...5].joined() + "Z-" + String(getpid())
        var moved: [String] = []
        var restore: [TreeChange] = []
        for relative in paths {
            // A linked directory on the way is left alone (a rename would act
            // outside the vault); a link in the file's own place is moved aside.
            if let link = Paths.firstSymlink(below: root, along: relative), link != relative { continue }
            var info = stat()
            if lstat(path(relative), &info) == 0 {
                let target = gitDirectory + "/coffer-orphans/\(stamp)/" + relative
                try Files.makeDirectories(Paths.parent(target)!)
                guard rename(path(relative), target) == 0 else { throw FileError.write(path: target, errno: errno) }
                moved.append(".git/coffer-orphans/\(stamp)/" + relative)
            }
            if let head, let blob = try repo.blob(at: relative, in: head) { restore.append(.write(path: relative, blob: blob)) }
        }
        if let head, !restore.isEmpty {
            // Journaled like a commit's publishing (at HEAD already), so a crash
            // here is finished by the next command and its index lock is claimed.
            let (indexLock, index) = try VaultTransaction.lockIndex(self, repo: repo, journaling: head, to: head, changes: restore)
            try VaultTransaction.publish(self, repo: repo, changes: restore, contents: [:], index: index)
            indexLock.release()
            Journal.remove(gitDirectory: gitDirectory)
        }
        return moved
    }
}
