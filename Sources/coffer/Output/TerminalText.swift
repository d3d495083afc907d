import Age

/// Text from outside — commit authors, reader names, ids and paths read from
/// a tree — before a terminal sees it. Control characters (C0, DEL, C1) and
/// the bidirectional formatting characters become visible escapes (`\n`,
/// `\x1b`, `\u{202e}`), so such text cannot move the cursor, recolour or
/// clear the screen, or reorder what follows it; a backslash is doubled, so
/// an escape cannot be forged by typing one either.
enum TerminalText {
    static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                out += scalar.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

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

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x5C, 0x7F...0x9F: return true        // controls, and the backslash itself
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // bidi marks, embeddings, overrides, isolates
        default: return false
        }
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
