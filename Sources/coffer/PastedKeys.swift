import Age
import CofferLocator

/// A private key typed where a name, path, revision or option belongs
/// (`--identity AGE-SECRET-KEY-1…`, `init AGE-SECRET-KEY-1…`) is refused
/// before anything is parsed, opened or created, and never shown back. The
/// one place a key may be typed is the VALUE of `set ID=VALUE`; keys arrive
/// elsewhere through files and standard input. `COFFER_VAULT` and
/// `COFFER_IDENTITY` holding a key are refused the same way.
enum PastedKeys {
    /// Why the command line is refused, naming where the key is but not the
    /// key; nil when no word looks like a secret key.
    static func refusal(in arguments: [String], command names: [String]) -> String? {
        // Shell completion shows no errors; a key there matches nothing anyway.
        guard arguments.first != "---completion" else { return nil }
        // What follows `exec`'s `--` is another program's command line, not coffer's to judge.
        let own = names == ["exec"] ? Array(arguments.prefix { $0 != "--" }) : arguments
        for (index, word) in own.enumerated() where Redaction.looksLikeSecretKey(word) {
            if names == ["set"], isValuePair(word) { continue }
            return "\(place(of: index, in: arguments)) looks like a secret key; it is not shown"
        }
        for name in ["COFFER_VAULT", "COFFER_IDENTITY"] where Locator.processVariable(name).map(Redaction.looksLikeSecretKey) == true {
            return "\(name) looks like a secret key; it is not shown"
        }
        return nil
    }

    /// `ID=VALUE` with the key only in VALUE (a key in the id is the id's refusal).
    private static func isValuePair(_ word: String) -> Bool {
        guard !word.hasPrefix("-"), let eq = word.firstIndex(of: "=") else { return false }
        return !Redaction.looksLikeSecretKey(String(word[..<eq]))
    }

    private static func place(of index: Int, in arguments: [String]) -> String {
        let word = arguments[index]
        if word.hasPrefix("-"), let eq = word.firstIndex(of: "="), !Redaction.looksLikeSecretKey(String(word[..<eq])) {
            return "the value of \(TerminalText.escape(String(word[..<eq])))"
        }
        if index > 0, arguments[index - 1].hasPrefix("-"), !Redaction.looksLikeSecretKey(arguments[index - 1]) {
            return "the word after \(TerminalText.quoted(arguments[index - 1]))"
        }
        return "argument \(index + 1)"
    }
}
