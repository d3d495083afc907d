#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore

/// How the stock git CLI shows sealed files: `.gitattributes` (versioned,
/// see `Attributes`) routes `*.age` through the `coffer` diff driver, whose textconv command is
/// set per clone in `.git/config` (not versioned) by `init` and `setup`,
/// as are the settings with which stock git checks coffer's signed commits.
public enum GitIntegration {

    /// Points this clone's `diff.coffer.textconv` at `executable textconv`,
    /// has stock git check commit signatures (`git verify-commit`, `git
    /// log --show-signature`) as SSH signatures against the vault's `.signers`,
    /// merges sealed and trust files through `executable merge-driver` (see
    /// `MergeWiring`), and installs the post-merge hook that re-seals after
    /// a stock merge (`planReseal`), unless the clone has a hook of its own.
    @discardableResult
    public static func configure(_ vault: Vault, executable: String) throws -> HookInstall {
        let repo = try vault.repo()
        try repo.setConfig("diff.coffer.textconv", "\(MergeWiring.shellQuoted(executable)) textconv")
        // Never cache: a cached conversion would keep whatever was shown.
        try repo.setConfig("diff.coffer.cachetextconv", "false")
        try repo.setConfig("gpg.format", "ssh")
        // Absolute: git reads a relative one from wherever it is run.
        try repo.setConfig("gpg.ssh.allowedSignersFile", vault.path(SignersFile.fileName))
        // The config before the attributes: an attribute naming a driver the
        // config lacks would send sealed files through git's text merge.
        try repo.setConfig("merge.\(MergeWiring.driverName).name", "coffer: sealed files by value, trust files as sets of lines")
        try repo.setConfig("merge.\(MergeWiring.driverName).driver", MergeWiring.driverCommand(executable: executable))
        try vault.wireMergeAttributes()
        return try vault.installPostMergeHook(executable: executable)
    }

    /// The text git diffs for a sealed file: its id, its readers (by name
    /// where the vault's `.recipients` knows them) and a digest of the
    /// encrypted payload, which changes exactly when the value was re-encrypted.
    /// No key is needed and no value is shown, unless `identities` are given
    /// and open the file (the value is then shown too).
    public static func describe(_ file: [UInt8], vault: Vault?, identities: [Identity] = []) -> String {
        guard let (header, offset) = try? Header.parse(file) else {
            return "not a valid age file (\(file.count) bytes)\n"
        }
        let binding = header.stanzas.first { $0.type == Sealing.bindingType }
        guard let id = binding?.arguments.first else {
            return "age file without a coffer binding, \(header.stanzas.count) stanzas\n"
        }
        var names: [String: String] = [:]
        if let vault, let secret = try? SecretID(id), let scope = try? vault.readers(of: secret) {
            for reader in scope.readers { names[reader.fingerprint] = reader.name }
        }
        let readers = (binding?.arguments.dropFirst() ?? []).map { fp in names[fp].map { "\($0) (\(fp))" } ?? fp }
        let digest = Text.hex(Digest.sha256(Array(file[offset...])).prefix(8))
        var text = "coffer secret \(id)\nreaders: \(readers.joined(separator: ", "))\npayload: \(digest)\n"
        if !identities.isEmpty, let secret = try? SecretID(id), let value = try? Sealing.open(file, id: secret, identities: identities) {
            text += "value: " + value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } + "\n"
        }
        return text
    }
}
