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
    let conflictPolicy: ImportOptions.Conflicts
    let changes: [VaultChange]
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
        var records = try importRecords()
        if let signer, !options.allowOlder, let newest = records.newest(signer: signer, prefix: manifest.prefix), manifest.created <= newest {
            throw BundleError.older(signer: signer, prefix: manifest.prefix.description, created: manifest.created, newest: newest)
        }
        // Every entry must open and be bound to its own id before anything is compared.
        let opened = try Parallel.map(archive.entries) { entry, file -> SecureBytes in
            do {
                return try Sealing.open(file, id: entry.id, identities: identities)
            } catch VaultError.notReadable {
                throw BundleError.notForYou(id: entry.id)
            } catch VaultError.boundToOtherID(_, let other) {
                throw BundleError.entryBoundElsewhere(id: entry.id, boundTo: other)
            } catch VaultError.damaged(_, let cause) {
                throw BundleError.entryDamaged(id: entry.id, reason: String(describing: cause))
            } catch VaultError.missingBinding {
                throw BundleError.entryDamaged(id: entry.id, reason: "it is not bound to an id")
            }
        }
        var sorting = try ImportSorting(self, identities: identities, policy: options.conflicts)
        var changes: [VaultChange] = []
        for ((entry, file), value) in zip(archive.entries, opened) {
            let target = try remap(entry.id, from: manifest.prefix, to: options.prefix)
            if try sorting.admits(target, value: value) { changes.append(.importEntry(target, file: file, bound: entry.id)) }
        }
        let digest = Text.hex(Digest.sha256(bundle))
        if let signer { records.record(signer: signer, prefix: manifest.prefix, created: manifest.created) }
        changes.append(.setImportRecords(records.text))
        changes += [.trailer(key: "Bundle", value: digest),
                    .trailer(key: "Signer", value: signer ?? "- (unsigned)"),
                    .trailer(key: "Source", value: "\(manifest.sourceVault) \(manifest.sourceCommit)")]
        return ImportPlan(added: sorting.added, changed: sorting.changed, unchanged: sorting.unchanged, conflicts: sorting.conflicts, signer: signer,
                          sourceCommit: manifest.sourceCommit, created: manifest.created, digest: digest,
                          conflictPolicy: options.conflicts, changes: changes)
    }

    /// Imports a planned bundle as one commit. With conflicts and neither
    /// `keep` nor `replace`, refuses, naming them.
    public func importBundle(_ plan: ImportPlan, identities: [Identity]) throws -> ChangeOutcome {
        if plan.conflictPolicy == .refuse && !plan.conflicts.isEmpty { throw BundleError.conflicts(plan.conflicts) }
        return try commit(plan.changes, action: .importBundle, identities: identities)
    }

    /// `id` moved from under the bundle's prefix to under `target`.
    private func remap(_ id: SecretID, from prefix: Prefix, to target: Prefix?) throws -> SecretID {
        guard let target else { return id }
        let rest = prefix.isAll ? id.value : String(id.value.dropFirst(prefix.path.count))
        let joined = target.isAll ? String(rest.drop { $0 == "/" }) : target.path + (rest.hasPrefix("/") || rest.isEmpty ? rest : "/" + rest)
        return try SecretID(joined.isEmpty ? target.path : joined)
    }

    func importRecords() throws -> ImportRecords {
        guard let bytes = try? Files.read(path: path(ImportRecords.fileName)) else { return ImportRecords() }
        return try ImportRecords(parsing: String(decoding: bytes, as: UTF8.self))
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
        // `.signers` options (namespaces, validity) bind the key as ssh-keygen would.
        let trusted = try options.signers.map { $0.filter { $0.key == key } }
            ?? trustedSigners(for: key, namespace: BundleSigner.namespace, at: Int64(time(nil)))
        guard let signer = trusted.first else { throw BundleError.untrustedSigner(fingerprint: key.fingerprint) }
        return signer.name
    }
}
