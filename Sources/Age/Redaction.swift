/// Text a user typed (a path, id, revision, name or option), as a message
/// may show it back. A private key or bearer token pasted where such text
/// belongs — a `coffer serve` token (`cft_…`), an age
/// key (`AGE-SECRET-KEY-1…`, `AGE-SECRET-KEY-PQ-1…`) or a PEM private key
/// block such as ssh-keygen writes (`-----BEGIN OPENSSH PRIVATE KEY-----`,
/// or its base64 body alone), in any case, anywhere in the text — becomes
/// `<a secret key>`, and nothing after an `=` is shown, since it may be the
/// VALUE of `ID=VALUE`. The one rule for every message coffer prints; the
/// result is ASCII-safe wherever the input was.
public enum Redaction {
    /// What a pasted key is shown as.
    public static let secretKeyShown = "<a secret key>"
    /// Where the text after an `=` was.
    public static let elided = "..."

    /// Where a key starts, and how far the secret runs from there.
    private struct Marker: Sendable {
        let text: [Unicode.Scalar]
        let continues: @Sendable (Unicode.Scalar) -> Bool
        /// Whether the run after the marker (what `continues` takes) is a key:
        /// `AGE-PLUGIN-` starts a plugin identity, but also names a plugin's binary.
        var confirms: @Sendable (ArraySlice<Unicode.Scalar>) -> Bool = { _ in true }
    }

    private static let markers = [
        // A bearer token of `coffer serve` (`cft_` and 64 hex digits); 32 digits or more count.
        Marker(text: Array("CFT_".unicodeScalars), continues: { isHexDigit($0) }, confirms: { $0.count >= 32 }),
        // Every age private key starts so (X25519's `AGE-SECRET-KEY-1`, the hybrid `AGE-SECRET-KEY-PQ-1`).
        Marker(text: Array("AGE-SECRET-KEY-".unicodeScalars), continues: { isKeyCharacter($0) }),
        // The end of any PEM private key's BEGIN line; the body follows, up to the
        // END line and beyond: everything after it goes.
        Marker(text: Array("PRIVATE KEY-----".unicodeScalars), continues: { _ in true }),
        // base64 of "openssh-key-v1", the start of an OpenSSH key's body pasted alone.
        Marker(text: Array("B3BLBNNZAC1RZXKTDJE".unicodeScalars), continues: { isBase64OrBreak($0) }),
        // A plugin identity, `AGE-PLUGIN-NAME-1…`: Bech32 after the name's `-1`
        // (not a binary's name such as `age-plugin-yubikey`).
        Marker(text: Array("AGE-PLUGIN-".unicodeScalars), continues: { isKeyCharacter($0) || "._+".unicodeScalars.contains($0) },
               confirms: { run in
                   guard let one = run.indices.last(where: { $0 > run.startIndex && run[$0] == "1" && run[$0 - 1] == "-" }) else { return false }
                   return run.endIndex - one > 6
               }),
    ]

    /// True when `text` holds a private key's marker in any case: such text
    /// is refused where a path, id, name or revision belongs, and never shown.
    public static func looksLikeSecretKey(_ text: String) -> Bool {
        // ASCII text without any marker is the common case (every id `list`
        // reads): settled with one byte scan per marker.
        if let upper = ByteSearch.asciiUppercased(text),
           !upper.withUnsafeBytes({ bytes in markerBytes.contains { ByteSearch.contains(bytes, $0) } }) { return false }
        return firstKey(in: Array(text.unicodeScalars), from: 0) != nil
    }

    /// The markers' texts as bytes (every marker is ASCII).
    private static let markerBytes = markers.map { $0.text.map { UInt8($0.value) } }

    /// `text` as a message may show it: keys replaced, and cut after its first `=`.
    public static func shown(_ text: String) -> String {
        var text = text
        if let eq = text.firstIndex(of: "=") { text = String(text[...eq]) + elided }
        return redactingKeys(text)
    }

    /// `text` with every key-shaped run (a marker and what follows it)
    /// replaced; for whole messages, where an `=` is coffer's own wording.
    public static func redactingKeys(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard var found = firstKey(in: scalars, from: 0) else { return text }
        var out = String.UnicodeScalarView()
        var at = 0
        while true {
            out.append(contentsOf: scalars[at..<found.start])
            out.append(contentsOf: secretKeyShown.unicodeScalars)
            at = found.start + found.marker.text.count
            while at < scalars.count, found.marker.continues(scalars[at]) { at += 1 }
            guard let next = firstKey(in: scalars, from: at) else { break }
            found = next
        }
        out.append(contentsOf: scalars[at...])
        return String(out)
    }

    private static func firstKey(in scalars: [Unicode.Scalar], from: Int) -> (start: Int, marker: Marker)? {
        var first: (start: Int, marker: Marker)?
        for marker in markers {
            let m = marker.text
            guard scalars.count >= m.count, from <= scalars.count - m.count else { continue }
            for start in from...(scalars.count - m.count) where start < (first?.start ?? Int.max) {
                if (0..<m.count).allSatisfy({ upper(scalars[start + $0]) == m[$0] }) {
                    let runStart = start + m.count
                    let runEnd = scalars[runStart...].firstIndex { !marker.continues($0) } ?? scalars.count
                    guard marker.confirms(scalars[runStart..<runEnd]) else { continue }
                    first = (start, marker)
                    break
                }
            }
        }
        return first
    }

    private static func upper(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("a"..."z").contains(scalar) ? Unicode.Scalar(scalar.value - 32)! : scalar
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
    }

    private static func isHexDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)
    }

    private static func isBase64OrBreak(_ scalar: Unicode.Scalar) -> Bool {
        isKeyCharacter(scalar) && scalar != "-" || "+/=\r\n".unicodeScalars.contains(scalar)
    }
}

