/// Text from outside — commit authors, ids read from a tree, a plugin's
/// messages and stderr — before a terminal sees it. Control characters (C0,
/// DEL, C1) and the bidirectional formatting characters become visible
/// escapes (`\n`, `\x1b`, `\u{202e}`), so such text cannot move the cursor,
/// recolour or clear the screen, or reorder what follows it; a backslash is
/// doubled, so an escape cannot be forged by typing one either.
public enum UntrustedText {
    public static func escaped(_ text: String) -> String {
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

    /// True for the characters `escaped` rewrites.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x5C, 0x7F...0x9F: return true        // controls, and the backslash itself
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // bidi marks, embeddings, overrides, isolates
        default: return false
        }
    }
}
