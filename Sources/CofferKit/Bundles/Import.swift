#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore
import Posix
import SSHSig

/// How `importBundle` treats what it finds.
public struct ImportOptions: Sendable {
    /// What to do with ids that exist here with another value.
    public enum Conflicts: Sendable {
        /// Refuse the whole import, naming them.
        case refuse
        /// Keep the values here; report them (`--merge`).
        case keep
        /// Take the bundle's (`--replace`).
        case replace
    }

    public var conflicts: Conflicts = .refuse
    /// Where the bundle's prefix lands here (`--prefix NEW/`); nil: the same ids.
    public var prefix: Prefix?
    /// Trusted for this import only (`--signer`); nil: the vault's `.signers`.
    public var signers: [Signer]?
    public var allowUnsigned = false
    public var allowOlder = false
    /// The user's public keys, if known: writing into a scope none of them
    /// reads is a risk to confirm, as for `set`.
    public var me: Set<ReaderKey>?

    public init() {}
}

/// A bundle checked against everything and ready to commit; `dry-run` shows
/// it and stops. Ids are the ids here (after `--prefix`).
public struct ImportPlan {
    public let added: [SecretID]
    /// Existing ids whose value the import replaces (`--replace`).
    public let changed: [SecretID]
    public let unchanged: [SecretID]
    /// Existing ids with another value that the import keeps (or refuses on).
    public let conflicts: [SecretID]
    /// The trusted principal who signed it; nil when unsigned (`allowUnsigned`)
    /// or from a plaintext file.
    public let signer: String?
    /// The bundle's source commit and creation time; nil from a plaintext file.
    public let sourceCommit: String?
    public let created: String?
    /// SHA-256 of the bundle file, as the commit records it; nil from a
    /// plaintext file (a digest of plaintext values would let them be guessed).
    public let digest: String?
    /// What the user should agree to first (scopes they would not read).
    public let risks: [Risk]
    public private(set) var isConfirmed: Bool
    let conflictPolicy: ImportOptions.Conflicts
    let changes: [VaultChange]

    init(_ sorting: ImportSorting, signer: String?, sourceCommit: String?, created: String?, digest: String?,
         risks: [Risk], conflictPolicy: ImportOptions.Conflicts, changes: [VaultChange]) {
        (added, changed, unchanged, conflicts) = (sorting.added, sorting.changed, sorting.unchanged, sorting.conflicts)
        (self.signer, self.sourceCommit, self.created, self.digest) = (signer, sourceCommit, created, digest)
        self.risks = risks
        isConfirmed = risks.isEmpty
        self.conflictPolicy = conflictPolicy
        self.changes = changes
    }

    /// Records that the user agreed to the risks.
    public mutating func confirm() { isConfirmed = true }
}

extension Vault {
    /// Checks a bundle completely — the signature against trusted signers,
    /// the manifest against the archive, every entry opened with
    /// `identities` and bound to its id, the replay record — and works out
    /// what importing it would change. Writes nothing.
    public func planImport(_ bundle: [UInt8], options: ImportOptions, identities: [Identity]) throws -> ImportPlan {
        let archive = try BundleArchive(reading: bundle)
        let manifest = archive.manifest
        let signer = try verifiedSigner(of: archive, options: options)
        // A clock far ahead would make every later bundle from this signer look old.
        guard manifest.created <= Manifest.timestamp(secondsFromNow: 86_400) else { throw BundleError.fromTheFuture(created: manifest.created) }
        let record = signer.map { ImportRecords.Entry(signer: $0, prefix: manifest.prefix, created: manifest.created) }
        if let record, !options.allowOlder {
            let repo = try repo()
            try ImportRecords.committed(in: repo, at: try repo.head()).refuseReplay(of: record)
        }
        // Every entry must open and be bound to its own id before anything is
        // compared; the values are not kept (an entry is opened again only
        // where an id exists here to compare with).
        _ = try Parallel.map(archive.entries) { entry, file in _ = try Vault.openEntry(file, id: entry.id, identities: identities) }
        var sorting = try ImportSorting(self, identities: identities, policy: options.conflicts)
        var changes: [VaultChange] = []
        for (entry, file) in archive.entries {
            let target = try remap(entry.id, from: manifest.prefix, to: options.prefix)
            if try sorting.admits(target, value: { try Vault.openEntry(file, id: entry.id, identities: identities) }) {
                changes.append(.importEntry(target, file: file, bound: entry.id))
            }
        }
        let digest = Text.hex(Digest.sha256(bundle))
        if let record { changes.append(.recordImport(record, allowOlder: options.allowOlder)) }
        changes += [.trailer(key: "Bundle", value: digest),
                    .trailer(key: "Signer", value: signer ?? "- (unsigned)"),
                    .trailer(key: "Source", value: "\(manifest.sourceVault) \(manifest.sourceCommit)")]
        return ImportPlan(sorting, signer: signer, sourceCommit: manifest.sourceCommit, created: manifest.created, digest: digest,
                          risks: try risks(writing: changes, me: options.me), conflictPolicy: options.conflicts, changes: changes)
    }

    /// Imports a planned bundle as one commit. With conflicts and neither
    /// `keep` nor `replace`, refuses, naming them.
    public func importBundle(_ plan: ImportPlan, identities: [Identity]) throws -> ChangeOutcome {
        if plan.conflictPolicy == .refuse && !plan.conflicts.isEmpty { throw BundleError.conflicts(plan.conflicts) }
        guard plan.isConfirmed else { throw VaultError.unconfirmed(plan.risks) }
        return try commit(plan.changes, action: .importBundle, identities: identities)
    }

    /// Writing these changes into scopes none of `me` reads, as a risk.
    func risks(writing changes: [VaultChange], me: Set<ReaderKey>?) throws -> [Risk] {
        guard me != nil else { return [] }
        let ids = changes.compactMap { change -> SecretID? in
            switch change {
            case .importEntry(let id, _, _), .set(let id, _): return id
            default: return nil
            }
        }
        let scopes = Set(try governingScopes(of: ids)).sorted()
        return ChangePlan.unreadable(try scopes.map { ScopeReaders(scope: $0, readers: try readers(in: $0).readers) }, by: me)
    }

    /// A bundle entry's value, its failures told as the bundle's.
    private static func openEntry(_ file: [UInt8], id: SecretID, identities: [Identity]) throws -> SecureBytes {
        do {
            return try Sealing.open(file, id: id, identities: identities)
        } catch VaultError.notReadable {
            throw BundleError.notForYou(id: id)
        } catch VaultError.boundToOtherID(_, let other) {
            throw BundleError.entryBoundElsewhere(id: id, boundTo: other)
        } catch VaultError.damaged(_, let cause) {
            throw BundleError.entryDamaged(id: id, reason: String(describing: cause))
        } catch VaultError.missingBinding {
            throw BundleError.entryDamaged(id: id, reason: "it is not bound to an id")
        }
    }

    /// `id` moved from under the bundle's prefix to under `target`.
    private func remap(_ id: SecretID, from prefix: Prefix, to target: Prefix?) throws -> SecretID {
        guard let target else { return id }
        let rest = prefix.isAll ? id.value : String(id.value.dropFirst(prefix.path.count))
        let joined = target.isAll ? String(rest.drop { $0 == "/" }) : target.path + (rest.hasPrefix("/") || rest.isEmpty ? rest : "/" + rest)
        return try SecretID(joined.isEmpty ? target.path : joined)
    }
}

extension Vault {
    /// The principal who signed the bundle, as this vault's `.signers` (or
    /// `--signer`) names the key; nil when unsigned and that is allowed.
    func verifiedSigner(of archive: BundleArchive, options: ImportOptions) throws -> String? {
        guard let signature = archive.signature else {
            if options.allowUnsigned { return nil }
            throw BundleError.unsigned
        }
        let key: SSHEd25519PublicKey
        do {
            key = try SSHSignature.verify(signature, message: archive.manifestBytes, namespace: BundleSigner.namespace)
        } catch let error as SSHSigError {
            throw BundleError.badSignature(reason: error.description)
        }
        if let override = options.signers {
            guard let match = override.first(where: { $0.key == key }) else { throw BundleError.untrustedSigner(fingerprint: key.fingerprint, claimed: archive.manifest.signer) }
            // The name `.signers` knows the key by, if any, so that its replay
            // records apply (`--signer` must not be a way around them).
            return (try? signers())?.first { $0.key == key }?.name ?? match.name
        }
        // `.signers` options (namespaces, validity) bind the key as ssh-keygen would.
        let trusted = try trustedSigners(for: key, namespace: BundleSigner.namespace, at: Int64(time(nil)))
        guard let signer = trusted.first else { throw BundleError.untrustedSigner(fingerprint: key.fingerprint, claimed: archive.manifest.signer) }
        return signer.name
    }
}
