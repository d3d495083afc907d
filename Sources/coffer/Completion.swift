import ArgumentParser
import CofferKit

/// Shell completion of secret ids (`coffer --generate-completion-script`):
/// the ids of the vault the command line names, never values. Completion
/// must never print an error into the user's shell, so any failure (no
/// vault, unreadable tree) completes nothing.
enum Completion {
    static let secretIDs = CompletionKind.custom(ids)

    /// `words` are the shell words verbatim (quotes included), `prefix` the
    /// part of the word being completed before the cursor.
    @Sendable static func ids(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        let explicit = vaultDirectory(in: words, completing: index)
        let directory = VaultSettings.locator.vaultDirectory(explicit: explicit)
        // Read-only: a TAB never takes the lock or repairs an interrupted write.
        guard let vault = try? Vault.open(containing: directory, finishingInterruptedWrite: false) else { return [] }
        let ids = vault.list()
        let typed = unquoted(prefix)
        return ids.map(\.value).filter { $0.hasPrefix(typed) }
    }

    /// The value of the last `--vault DIR` / `--vault=DIR` on the line (not
    /// the word being completed), else nil: `$COFFER_VAULT`, then the
    /// enclosing vault, as every command has it.
    static func vaultDirectory(in words: [String], completing index: Int) -> String? {
        var found: String?
        for (position, word) in words.enumerated() where position != index {
            if word == "--vault", position + 1 < words.count, position + 1 != index {
                found = words[position + 1]
            } else if word.hasPrefix("--vault=") {
                found = String(word.dropFirst("--vault=".count))
            }
        }
        return found.map(unquoted).map(expandingTilde).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// One layer of shell quoting, as a user types a path: 'dir', "dir", dir\ name.
    static func unquoted(_ word: String) -> String {
        if word.count >= 2, let first = word.first, first == "'" || first == "\"", word.last == first {
            return String(word.dropFirst().dropLast())
        }
        var out = ""
        var escaped = false
        for character in word {
            if character == "\\" && !escaped { escaped = true; continue }
            escaped = false
            out.append(character)
        }
        return out
    }

    static func expandingTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = VaultSettings.locator.homeDirectory else { return path }
        return home + path.dropFirst()
    }
}
