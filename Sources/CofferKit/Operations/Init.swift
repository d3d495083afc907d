import Age
import GitStore
import Posix

extension Vault {
    /// Makes `directory` (absolute) a vault: a git repository whose first
    /// commit holds the root `.recipients` naming `readers`, the `.signers`
    /// naming `signers` (when there are any), and the `.gitattributes` that
    /// route sealed files through coffer's diff driver. Refuses an existing
    /// vault, a directory inside one, and a repository with history of its own.
    /// The first commit is signed by `commitSigner`, which the vault keeps,
    /// and this clone pins `signers` as the root of the vault's chain of trust.
    public static func create(at directory: String, readers: [NamedRecipient], signers: [Signer] = [],
                              configuration: Configuration = Configuration(),
                              commitSigner: CommitSigner? = nil) throws -> Vault {
        try checkCanCreate(at: directory)
        try configuration.audit?.checkWritable()
        let root = Paths.normalized(directory)
        guard !readers.isEmpty else { throw VaultError.noRecipients(scope: .root) }
        for reader in readers { try reader.checkName() }
        let repo = Files.exists(root + "/.git") ? try GitRepository.open(at: root) : try GitRepository.create(at: root)
        let vault = Vault(root: root, configuration: configuration, repository: repo)
        vault.commitSigner = commitSigner
        let lock = try vault.lock()
        defer { _ = lock }
        let recipients = Array(RecipientsFile(entries: readers).text.utf8)
        let attributes = Array(Attributes.text.utf8)
        var contents = [RecipientsFile.fileName: recipients, Attributes.fileName: attributes]
        if !signers.isEmpty { contents[SignersFile.fileName] = Array(SignersFile(signers: signers).text.utf8) }
        let changes: [TreeChange] = try contents.keys.sorted().map { .write(path: $0, blob: try repo.writeBlob(contents[$0]!)) }
        let author = try repo.configuredSignature() ?? Signature(name: configuration.authorName ?? "coffer", email: "coffer@localhost")
        let message = "coffer: init vault\n\nCoffer-Action: \(Action.initialize.rawValue)\n"
        let commit = try repo.createCommit(parent: nil, changes: changes, message: message, author: author,
                                           sign: commitSigner.map { signer in { try signer.sign($0) } })
        // No journal covers a first commit (the vault is not one until its
        // files are written), so the lock goes whatever happens.
        let indexLock = try vault.indexLock(token: Journal.newIndexLockToken())
        defer { indexLock.release() }
        try repo.advanceHead(from: nil, to: commit, message: "coffer: init")
        try AcceptedReaders(scopes: [.root: readers]).save(gitDirectory: vault.gitDirectory)
        // The root of trust: this vault's own first signers.
        try TrustState(pinned: commit, signing: true, signers: signers.map(\.entry))
            .save(gitDirectory: vault.gitDirectory)
        try VaultTransaction.publish(vault, repo: repo, changes: changes, contents: contents,
                                     index: repo.beginIndexUpdate(holding: indexLock))
        try vault.audit(action: Action.initialize.rawValue, ids: [], commit: commit.hex)
        return vault
    }

    /// Refuses, before anything is created, a directory that is already a
    /// vault, lies inside one, or is a git repository with history of its own.
    public static func checkCanCreate(at directory: String) throws {
        try Text.refuseSecretKey(directory, as: "the directory")
        guard directory.hasPrefix("/") else { throw VaultError.notAbsolute(path: directory) }
        let root = Paths.normalized(directory)
        guard !isVault(root) else { throw VaultError.alreadyAVault(path: root) }
        var ancestor = Paths.parent(root)
        while let dir = ancestor {
            if isVault(dir) { throw VaultError.insideVault(path: root, vault: dir) }
            ancestor = Paths.parent(dir)
        }
        if Files.exists(root + "/.git"), try GitRepository.open(at: root).head() != nil {
            throw VaultError.existingHistory(path: root)
        }
    }
}
