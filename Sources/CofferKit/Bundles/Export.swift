import Age
import GitStore
import Posix

/// Who signs a bundle: a principal (the name `.signers` knows them by) and a
/// function that returns the armored SSH signature of the manifest. The
/// library never sees where the key is kept.
public struct BundleSigner {
    /// The SSH signature namespace of a bundle's manifest.
    public static let namespace = "coffer-bundle"

    public let principal: String
    let sign: ([UInt8]) throws -> String

    public init(principal: String, sign: @escaping ([UInt8]) throws -> String) {
        self.principal = principal
        self.sign = sign
    }
}

/// A bundle made by `exportBundle`.
public struct ExportedBundle: Sendable {
    /// The bundle file's bytes.
    public let bytes: [UInt8]
    public let ids: [SecretID]
    /// Secrets left out because you cannot open them (`skipUnreadable`).
    public let skipped: [SecretID]
    public let sourceCommit: String
    public let created: String
}

extension Vault {
    /// A bundle of the committed secrets under `prefix` (HEAD, not the work
    /// tree), each re-wrapped for `recipients` only — its data key and
    /// payload kept, the vault's readers gone — then listed in a manifest
    /// signed by `signer`. A secret you cannot open fails the export, naming
    /// it, unless `skipUnreadable`.
    public func exportBundle(_ prefix: Prefix, to recipients: [ReaderKey], signer: BundleSigner?,
                             identities: [Identity], skipUnreadable: Bool = false) throws -> ExportedBundle {
        guard !recipients.isEmpty else { throw BundleError.noDestination }
        let repo = try repo()
        guard let head = try repo.head() else { throw BundleError.nothingToExport(prefix) }
        let under = prefix.isAll ? "" : prefix.path
        let sealed = try repo.files(in: head, under: under).compactMap { entry -> (SecretID, ObjectID)? in
            guard let id = SecretID(relativePath: entry.path), prefix.contains(id) else { return nil }
            return (id, entry.blob)
        }
        guard !sealed.isEmpty else { throw BundleError.nothingToExport(prefix) }
        // Blobs are read here, in one thread: a libgit2 handle is not shared.
        let jobs = try sealed.map { ($0.0, try repo.readBlob($0.1)) }
        let destination = recipients.map { NamedRecipient(recipient: $0, name: nil) }
        let plugins = self.plugins
        try PluginPreparation.prepareOpening(jobs.map(\.1), identities: identities)
        if PluginPreparation.involves(destination) {
            let keys = jobs.compactMap { try? Age.fileKey(of: $0.1, identities: identities) }
            try PluginPreparation.prepareWrapping(keys.map { ($0, recipients) }, plugins: plugins)
        }
        let results = try Parallel.map(jobs) { id, file -> [UInt8]? in
            do {
                return try Sealing.rewrapped(file, id: id, as: id, for: destination, identities: identities, plugins: plugins)
            } catch VaultError.notReadable {
                return nil
            }
        }
        var files: [SecretID: [UInt8]] = [:], skipped: [SecretID] = []
        for ((id, _), result) in zip(jobs, results) {
            if let result { files[id] = result } else { skipped.append(id) }
        }
        if !skipped.isEmpty && !skipUnreadable { throw BundleError.unreadable(skipped) }
        guard !files.isEmpty else { throw BundleError.nothingToExport(prefix) }

        let manifest = Manifest(
            sourceVault: try rootCommit(repo, from: head).hex, sourceCommit: head.hex, created: Manifest.now(), prefix: prefix,
            signer: signer?.principal ?? "-", recipients: destination.map(\.fingerprint),
            entries: files.map { Manifest.Entry(id: $0.key, size: $0.value.count, sha256: Text.hex(Digest.sha256($0.value))) })
        let signature = try signer.map { try $0.sign(Array(manifest.text.utf8)) }
        let bytes = try BundleArchive.write(manifest: manifest, signature: signature, files: files)
        return ExportedBundle(bytes: bytes, ids: manifest.entries.map(\.id), skipped: skipped,
                              sourceCommit: head.hex, created: manifest.created)
    }

    /// The vault's first commit: what names it in a manifest, the same in every clone.
    private func rootCommit(_ repo: GitRepository, from head: ObjectID) throws -> ObjectID {
        try PathWalker(repo).chain(from: head).last?.commit ?? head
    }
}
