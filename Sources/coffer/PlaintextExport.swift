#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Posix

/// `coffer export PREFIX --format dotenv|json|yaml --reveal [-o FILE]`: the
/// values under PREFIX in plaintext. Refused without `--reveal`; on a
/// terminal it asks first unless `--yes`; a file is written whole or not at
/// all, mode 0600, and never inside the vault's work tree (where `git add`
/// would pick it up).
struct PlaintextExport {
    let prefix: Prefix
    let format: PlaintextFormat
    let output: String?
    let reveal: Bool
    let yes: Bool
    let options: VaultOptions

    func run() throws {
        guard reveal else {
            throw CommandFailure("--format \(format.rawValue) writes the values in plaintext; nothing was written",
                                 hint: "pass --reveal if that is intended (--to KEY makes a sealed bundle instead)")
        }
        let vault = try options.vault()
        if let output { try refuseInside(vault, output) }
        let identities = try options.identities()
        let secrets = try vault.plaintextSecrets(under: prefix, identities: identities)
        let entries = secrets.map { (key: $0.key, value: $0.value) }
        let ids = secrets.map(\.id)
        // Every refusal (a key dotenv cannot name, a value that is not text) comes before the question.
        let text = try format.encode(entries)
        let what = "the values of \(Plural.secrets(entries.count)) under \(prefix)"
        guard let output else {
            try Confirm.reveal(what, yes: yes)
            try vault.recordReveal(.export, ids: ids)
            try text.withUnsafeBytes { try FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output").write($0) }
            return
        }
        try Confirm.write(what, inPlaintextTo: output, yes: yes)
        try vault.recordReveal(.export, ids: ids)
        try OutputFile.write(text, to: output, mode: 0o600)
        Console.info("wrote \(what) to \(TerminalText.escape(output)) in plaintext (\(format.rawValue), mode 0600)")
    }

    /// A file in the work tree would be one `git add .` away from a commit,
    /// whether named directly or through a link (the link is written through).
    private func refuseInside(_ vault: Vault, _ path: String) throws {
        guard let root = realpath(vault.root, nil) else { return }
        defer { free(root) }
        let vaultRoot = String(cString: root)
        func inside(_ resolved: String) -> Bool { resolved == vaultRoot || resolved.hasPrefix(vaultRoot + "/") }
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            // A link that leads nowhere yet would create its target: refuse what cannot be checked.
            guard let target = realpath(path, nil) else {
                throw CommandFailure("\(TerminalText.escape(path)) is a link to a file that does not exist; nothing was written",
                                     hint: "name the file itself")
            }
            defer { free(target) }
            if inside(String(cString: target)) { throw insideVault(path) }
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        guard let resolved = realpath(directory.isEmpty ? "/" : directory, nil) else { return }
        defer { free(resolved) }
        if inside(String(cString: resolved)) { throw insideVault(path) }
    }

    private func insideVault(_ path: String) -> CommandFailure {
        CommandFailure("\(TerminalText.escape(path)) is inside the vault, where a plaintext file could be committed; nothing was written",
                       hint: "write it outside the vault's directory")
    }
}
