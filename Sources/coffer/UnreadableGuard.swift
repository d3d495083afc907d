import Age
import CofferKit

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
