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
        if let output { try OutputFile.refuseInside(vault, output) }
        let identities = try options.identities()
        let secrets = try vault.plaintextSecrets(under: prefix, identities: identities)
        let entries = secrets.map { (key: $0.key, value: $0.value) }
        let ids = secrets.map(\.id)
        // Every refusal (a key dotenv cannot name, a value that is not text) comes before the question.
        let text: SecureBytes
        do {
            text = try format.encode(entries)
        } catch let error as PlaintextError {
            guard case .notQuotableForShell = error else { throw error }
            throw CommandFailure(error.description, hint: Hints.unquotableInDotenv)
        }
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
}
