/// Text a user typed (a path, id, revision, name or option), as a message
/// may show it back. A private key pasted where such text belongs
/// (`AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`, in any case, anywhere in
/// the text) becomes
/// `<a secret key>`, and nothing after an `=` is shown, since it may be the
/// VALUE of `ID=VALUE`. The one rule for every message coffer prints; the
/// result is ASCII-safe wherever the input was.
public enum Redaction {
    /// What a pasted key is shown as.
    public static let secretKeyShown = "<a secret key>"
    /// Where the text after an `=` was.
    public static let elided = "..."

    /// Every age private key starts so (X25519's `AGE-SECRET-KEY-1`, the
    /// hybrid `AGE-SECRET-KEY-PQ-1`).
    private static let marker = Array("AGE-SECRET-KEY-".unicodeScalars)

    /// True when `text` holds `AGE-SECRET-KEY-` in any case: such text is
    /// refused where a path, id or revision belongs, and never shown.
    public static func looksLikeSecretKey(_ text: String) -> Bool {
        firstKey(in: Array(text.unicodeScalars), from: 0) != nil
    }

    /// `text` as a message may show it: keys replaced, and cut after its first `=`.
    public static func shown(_ text: String) -> String {
        var text = text
        if let eq = text.firstIndex(of: "=") { text = String(text[...eq]) + elided }
        return redactingKeys(text)
    }

    /// `text` with every key-shaped run (the marker and the letters, digits
    /// and dashes after it) replaced; for whole messages, where an `=` is
    /// coffer's own wording.
    public static func redactingKeys(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard var start = firstKey(in: scalars, from: 0) else { return text }
        var out = String.UnicodeScalarView()
        var at = 0
        while true {
            out.append(contentsOf: scalars[at..<start])
            out.append(contentsOf: secretKeyShown.unicodeScalars)
            at = start + marker.count
            while at < scalars.count, isKeyCharacter(scalars[at]) { at += 1 }
            guard let next = firstKey(in: scalars, from: at) else { break }
            start = next
        }
        out.append(contentsOf: scalars[at...])
        return String(out)
    }

    private static func firstKey(in scalars: [Unicode.Scalar], from: Int) -> Int? {
        guard scalars.count >= marker.count, from <= scalars.count - marker.count else { return nil }
        for start in from...(scalars.count - marker.count) {
            if (0..<marker.count).allSatisfy({ upper(scalars[start + $0]) == marker[$0] }) { return start }
        }
        return nil
    }

    private static func upper(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("a"..."z").contains(scalar) ? Unicode.Scalar(scalar.value - 32)! : scalar
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
    }
}
