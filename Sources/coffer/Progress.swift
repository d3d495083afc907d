#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit

/// A counter on one line of standard error while a long job runs ("re-sealing
/// 4,096/10,000"); only on a terminal, so logs and pipes stay clean.
final class ProgressLine {
    private let label: String
    private var shown = false

    init?(_ label: String) {
        guard Files.isTerminal(2) else { return nil }
        self.label = label
    }

    func update(_ done: Int, _ total: Int) {
        fputs("\r\(label) \(done)/\(total)", stderr)
        shown = true
    }

    /// Clears the line so the next message starts on a clean one.
    func finish() {
        if shown { fputs("\r\u{1B}[K", stderr) }
    }

    /// Runs `body` with a progress callback for `Vault.apply`, if any.
    static func around<R>(_ label: String, _ body: (((Int, Int) -> Void)?) throws -> R) rethrows -> R {
        let line = ProgressLine(label)
        defer { line?.finish() }
        return try body(line.map { line in { line.update($0, $1) } })
    }
}

/// The guard against sealing secrets for readers that do not include the
/// user: they could not read them back. Asks on a terminal; elsewhere
/// `--yes` is needed.
enum UnreadableGuard {
    static func check(scopes: [String: [NamedRecipient]], identities: [X25519Identity], yes: Bool) throws {
        try check(scopes: scopes, mine: Set(identities.map(\.recipient)), yes: yes)
    }

    static func check(scopes: [String: [NamedRecipient]], mine: Set<X25519Recipient>, yes: Bool) throws {
        let lost = scopes.filter { !$0.value.contains { mine.contains($0.recipient) } }.keys.sorted()
        guard !lost.isEmpty, !yes else { return }
        let names = lost.map { $0.isEmpty ? "/" : $0 }.joined(separator: ", ")
        Console.info("coffer: warning: you will not be able to read the secrets of \(names) afterwards")
        guard Files.isTerminal(0), Files.isTerminal(2) else {
            throw CommandFailure("not done: your identity would not read \(names)", hint: "pass --yes if that is intended")
        }
        let answer = try PassphraseSource.readLine(prompt: "Continue? [y/N] ", echo: true)
        guard answer == "y" || answer == "yes" else { throw CommandFailure("not confirmed; nothing was changed") }
    }
}
