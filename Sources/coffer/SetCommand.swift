#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Seal and commit secrets (one commit per invocation).",
        discussion: """
            coffer set ID=VALUE…    values on the command line (visible to other local users in ps)
            coffer set ID --stdin   the exact bytes of standard input
            coffer set ID --file F  the exact bytes of F
            coffer set ID           a masked prompt on the terminal
            Setting a secret to the value it already has writes nothing and makes no commit.
            """
    )

    @Argument(help: ArgumentHelp("ID=VALUE pairs, or one ID with --stdin, --file or a prompt.", valueName: "ID[=VALUE]"))
    var assignments: [String]

    @Flag(help: "Read the value of the single ID from standard input.")
    var stdin = false

    @Option(help: ArgumentHelp("Read the value of the single ID from FILE.", valueName: "FILE"))
    var file: String?

    @Flag(name: .shortAndLong, help: "Seal even if your identity is not among the readers (you could not read the value back).")
    var yes = false

    @OptionGroup var options: VaultOptions

    func validate() throws {
        let bare = assignments.filter { !$0.contains("=") }
        if stdin && file != nil { throw ValidationError("--stdin and --file exclude each other") }
        if (stdin || file != nil) && (assignments.count != 1 || !bare.isEmpty == false) {
            throw ValidationError("--stdin and --file take exactly one ID (without =VALUE)")
        }
        if bare.count > 1 || (bare.count == 1 && assignments.count > 1) {
            throw ValidationError("give either ID=VALUE pairs or a single ID")
        }
        let ids = assignments.map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0] }
        if let repeated = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw ValidationError("\(repeated) is given more than once")
        }
    }

    func run() throws {
        try Console.run {
            var changes: [VaultChange] = []
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "=") else {
                    let id = try SecretID(assignment)
                    changes.append(.set(id, try readValue(for: id)))
                    continue
                }
                let id = try SecretID(String(assignment[..<eq]))
                changes.append(.set(id, SecureBytes(copying: Array(assignment[assignment.index(after: eq)...].utf8))))
            }
            let vault = try options.vault()
            // The identity is needed only to compare with values already stored.
            let existing = changes.contains { if case .set(let id, _) = $0 { return vault.contains(id) } else { return false } }
            try options.store.checkPermissions()
            let identities = existing ? try options.identitiesIfPresent() : []
            try guardReadable(changes, vault: vault, identities: identities)
            let outcome = try vault.apply(changes, action: "set", identities: identities, authorName: Environment.user)
            for id in outcome.written { Console.info("set \(id)") }
            for id in outcome.unchanged { Console.info("unchanged \(id) (same value)") }
            Console.reportPending(outcome)
        }
    }

    /// Warns (and asks, or needs --yes) before sealing for readers that do not
    /// include the user. The public keys come from the identity file's
    /// comments when no key was loaded; a passphrase-protected file hides
    /// them, and then only loaded keys count.
    private func guardReadable(_ changes: [VaultChange], vault: Vault, identities: [X25519Identity]) throws {
        guard !yes else { return }
        let mine = identities.isEmpty ? options.store.publicKeys().map(Set.init) : Set(identities.map(\.recipient))
        guard let mine else { return }
        var scopes: [String: [NamedRecipient]] = [:]
        for case .set(let id, _) in changes {
            let scope = try vault.scope(for: id)
            scopes[scope.directory] = scope.readers
        }
        try UnreadableGuard.check(scopes: scopes, mine: mine, yes: yes)
    }

    private func readValue(for id: SecretID) throws -> SecureBytes {
        if stdin { return try Files.readSecret(path: "/dev/stdin") }
        if let file { return try Files.readSecret(path: file) }
        guard Files.isTerminal(STDIN_FILENO) else {
            throw CommandFailure("no value for \(id)", hint: "use ID=VALUE, --stdin or --file")
        }
        let value = try PassphraseSource.readFromTerminal(prompt: "Value for \(id): ")
        guard value.count > 0 else {
            throw CommandFailure("empty value for \(id); nothing was changed", hint: "to store an empty value use --stdin < /dev/null")
        }
        let again = try PassphraseSource.readFromTerminal(prompt: "Value again: ")
        guard value.constantTimeEquals(again) else { throw CommandFailure("the two values differ; nothing was changed") }
        return value
    }
}
