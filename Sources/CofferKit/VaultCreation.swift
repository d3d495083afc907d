import Age
import GitStore

extension Vault {
    /// Makes `directory` a vault: a git repository whose first commit holds the
    /// root `.recipients` naming `readers`. Refuses an existing vault.
    public static func create(at directory: String, readers: [NamedRecipient], authorName: String?) throws -> Vault {
        try checkCanCreate(at: directory)
        let root = Paths.absolute(directory)
        guard !readers.isEmpty else { throw VaultError.noRecipients(scope: "") }
        let repo = Files.exists(root + "/.git") ? try GitRepository.open(at: root) : try GitRepository.create(at: root)
        let vault = Vault(root: root)
        let lock = try VaultLock(gitDirectory: vault.gitDirectory)
        defer { _ = lock }
        let recipients = Array(RecipientsFile(entries: readers).text.utf8)
        let attributes = Array(GitIntegration.attributes.utf8)
        let changes: [TreeChange] = [
            .write(path: RecipientsFile.fileName, blob: try repo.writeBlob(recipients)),
            .write(path: GitIntegration.attributesFile, blob: try repo.writeBlob(attributes)),
        ]
        let author = try repo.configuredSignature() ?? Signature(name: authorName ?? "coffer", email: "coffer@localhost")
        let commit = try repo.createCommit(parent: nil, changes: changes, message: "coffer: init vault\n\nCoffer-Action: init\n", author: author)
        try repo.advanceHead(from: nil, to: commit, message: "coffer: init")
        try VaultTransaction.applyToWorkTree(vault, repo: repo, changes: changes,
                                             contents: [RecipientsFile.fileName: recipients, GitIntegration.attributesFile: attributes])
        return vault
    }

    /// Refuses, before anything is created, a directory that is already a
    /// vault or a git repository with history of its own.
    public static func checkCanCreate(at directory: String) throws {
        let root = Paths.absolute(directory)
        guard !isVault(root) else { throw VaultError.alreadyAVault(path: directory) }
        var ancestor = Paths.parent(root)
        while let dir = ancestor {
            if isVault(dir) { throw VaultError.insideVault(path: directory, vault: dir) }
            ancestor = Paths.parent(dir)
        }
        if Files.exists(root + "/.git"), try GitRepository.open(at: root).head() != nil {
            throw VaultError.existingHistory(path: directory)
        }
    }
}
