import Age

/// Text from outside — commit authors, reader names, ids and paths read from
/// a tree — before a terminal sees it, escaped by Age's `UntrustedText` (one
/// rule, shared with the age plugin client's messages).
enum TerminalText {
    static func escape(_ text: String) -> String { UntrustedText.escaped(text) }

    /// Typed input shown back in single quotes: a pasted key or a value
    /// after `=` left out (`Redaction`), escaped as above, a quote inside
    /// escaped too (so it cannot close the quotes early), cut at 200
    /// characters.
    static func quoted(_ text: String) -> String {
        let text = Redaction.shown(text)
        let shown = escape(String(text.prefix(200))).split(separator: "'", omittingEmptySubsequences: false).joined(separator: "\\'")
        return "'" + shown + (text.count > 200 ? "…'" : "'")
    }

    /// A message from the argument parser, which quotes what was typed
    /// (`Unknown option '--yes=X'`, `The value 'X' is invalid for …`):
    /// each typed word with an `=` or a key in it is shown as `quoted` shows
    /// it, the text after its `=` is not shown on its own either, and any
    /// key left is replaced.
    static func redacted(_ message: String, typed: [String]) -> String {
        var message = message
        for word in typed where word != Redaction.shown(word) {
            let shown = Redaction.shown(word)
            message = message.replacingAll(word, with: shown)
            if let eq = word.firstIndex(of: "="), word.index(after: eq) < word.endIndex {
                message = message.replacingAll("'" + word[word.index(after: eq)...] + "'", with: "'" + Redaction.elided + "'")
            }
        }
        return Redaction.redactingKeys(message).split(separator: "\n", omittingEmptySubsequences: false)
            .map { escape(String($0)) }.joined(separator: "\n")
    }
}

private extension String {
    /// Every occurrence of `target` replaced, left to right (no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = "", rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
