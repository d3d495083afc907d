/// Parsing of the text files keys travel in: identity files as age-keygen
/// writes them, and recipients files (one key per line, `#` comments).
public enum KeyFile {
    /// Identities from an identity file's bytes, parsed in place so the keys never
    /// pass through a `String`. Blank lines and `#` comments are skipped; errors
    /// give the line number and never the line, which may be a secret.
    /// `allowingNone`: a file of comments only is no error (its other keys
    /// were of another kind, read elsewhere).
    public static func parseIdentities(_ contents: SecureBytes, allowingNone: Bool = false) throws -> [X25519Identity] {
        try contents.withUnsafeBytes { bytes in
            var identities: [X25519Identity] = []
            // Line by line in place: `split` would build an array of slices,
            // whose generic metadata costs every start more than the parse.
            var n = 0, start = 0
            while start <= bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                defer { n += 1; start = end + 1 }
                var line = bytes[start..<end]
                while let last = line.last, last == 0x0D || last == 0x20 || last == 0x09 { line = line.dropLast() }
                while let first = line.first, first == 0x20 || first == 0x09 { line = line.dropFirst() }
                if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
                do {
                    identities.append(try X25519Identity(parsing: line))
                } catch AgeError.invalidIdentity {
                    throw AgeError.invalidIdentity("line \(n + 1) is not an AGE-SECRET-KEY-1 identity")
                }
            }
            guard !identities.isEmpty || allowingNone else { throw AgeError.invalidIdentity("no identities found") }
            return identities
        }
    }

    /// An identity file's text: `contents` itself, or — when the file is an
    /// age file sealed with a passphrase, as age accepts them — its
    /// decryption. `passphrase` is asked only then; a wrong one throws
    /// `AgeError.noIdentityMatched`.
    public static func unsealed(_ contents: SecureBytes, passphrase: () throws -> SecureBytes) throws -> SecureBytes {
        // Compared in place: the head of a plain identity file is the key itself.
        let sealed = contents.withUnsafeBytes { bytes in
            let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } ?? bytes.count
            let rest = bytes[start...]
            return rest.starts(with: "age-encryption.org/".utf8) || rest.starts(with: "-----BEGIN AGE ENCRYPTED FILE-----".utf8)
        }
        guard sealed else { return contents }
        let ciphertext = contents.withUnsafeBytes { Array($0) }
        return try Age.decrypt(ciphertext, identities: [ScryptIdentity(passphrase: try passphrase())]).plaintext
    }

    /// Recipients from a recipients file; text after `#` is a comment (a name).
    /// Errors name the line, not its text, which might be a misplaced secret key.
    public static func parseRecipients(_ text: String) throws -> [X25519Recipient] {
        var recipients: [X25519Recipient] = []
        for (n, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingBlanks()
            if line.isEmpty { continue }
            do {
                recipients.append(try X25519Recipient(parsing: String(line)))
            } catch AgeError.invalidRecipient, AgeError.secretKeyAsRecipient {
                throw AgeError.invalidRecipientLine(n + 1)
            }
        }
        guard !recipients.isEmpty else { throw AgeError.invalidRecipientSet("no recipients found") }
        return recipients
    }
}

extension Substring {
    /// Without surrounding spaces, tabs and carriage returns.
    func trimmingBlanks() -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        var s = self
        while let f = s.first, blank(f) { s.removeFirst() }
        while let l = s.last, blank(l) { s.removeLast() }
        return s
    }
}
