/// Parsing of the text files keys travel in: identity files as age-keygen
/// writes them, and recipients files (one key per line, `#` comments).
public enum KeyFile {
    /// Identities from an identity file. Blank lines and `#` comments are skipped;
    /// errors give the line number and never the line, which may be a secret.
    public static func parseIdentities(_ text: String) throws -> [X25519Identity] {
        var identities: [X25519Identity] = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingSuffix { $0 == "\r" }.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                identities.append(try X25519Identity(parsing: String(line)))
            } catch AgeError.invalidIdentity {
                throw AgeError.invalidIdentity("line \(n + 1) is not an AGE-SECRET-KEY-1 identity")
            }
        }
        guard !identities.isEmpty else { throw AgeError.invalidIdentity("no identities found") }
        return identities
    }

    /// Recipients from a recipients file; text after `#` is a comment (a name).
    public static func parseRecipients(_ text: String) throws -> [X25519Recipient] {
        var recipients: [X25519Recipient] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingSuffix { $0 == "\r" }.trimmingWhitespace()
            if line.isEmpty { continue }
            recipients.append(try X25519Recipient(parsing: String(line)))
        }
        guard !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients found") }
        return recipients
    }
}

extension Substring {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let last = s.last, predicate(last) { s.removeLast() }
        return s
    }

    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
