import Age

/// The plaintext files values can leave or enter the vault as (`export
/// --format … --reveal`, `import --from … --allow-plaintext`). Such a file
/// holds the values unsealed: the commands that write or read one are gated
/// by an explicit flag, and the vault never keeps one.
public enum PlaintextFormat: String, CaseIterable, Sendable {
    /// `KEY=value` lines, quoted as docs/BUNDLES.md says (`Dotenv`).
    case dotenv
    /// One flat object of strings (`FlatJSON`).
    case json
    /// One flat mapping of strings; coffer's YAML goes through Yams in the
    /// `coffer-yaml` helper, which converts it to and from flat JSON.
    case yaml
}

/// A key of a plaintext file and its value. The key is the id relative to
/// the prefix exported or imported; the value stays in a wiped buffer.
public typealias PlaintextEntry = (key: String, value: SecureBytes)

/// Why a plaintext file could not be read or written. Cases carry line
/// numbers and keys (ids, as the file names them), never a value: a line
/// that does not parse may be a value pasted on its own.
public enum PlaintextError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A dotenv line that is not `KEY=VALUE` (or a comment, or blank).
    case notAnAssignment(line: Int)
    /// A quoted dotenv value without its closing quote.
    case unterminatedQuote(line: Int)
    /// Something other than a comment after a quoted dotenv value.
    case textAfterQuote(line: Int)
    /// Bytes that are not UTF-8 text.
    case notUTF8(line: Int)
    /// A key given twice (at `line`, when the format has lines).
    case duplicateKey(String, line: Int?)
    /// JSON that is not one flat object of strings; `reason` is coffer's own words.
    case notFlatJSON(reason: String, line: Int)
    /// A key whose value is a number, object, list, boolean or null.
    case notAString(key: String)
    /// What `coffer-yaml` found wrong with a YAML file (its own words, no values).
    case notFlatYAML(reason: String)
    /// A key that is not a secret id once placed under the prefix.
    case invalidKey(String, reason: String)
    /// Two ids that would be written under one key.
    case sameKey(String, ids: [String])
    /// An id that is not a dotenv name (`[A-Za-z_][A-Za-z0-9_.]*`).
    case notDotenvKey(String)
    /// A value that is not UTF-8 text, which none of the formats can carry.
    case valueNotUTF8(key: String)
    /// A value holding `$` or a backtick as well as `'`, `\`, or a line
    /// break: dotenv has no quoting a POSIX shell would not expand.
    case notQuotableForShell(key: String)

    public var description: String {
        switch self {
        case .notAnAssignment(let line): return "line \(line) is not KEY=VALUE, a comment or blank"
        case .unterminatedQuote(let line): return "line \(line): a quoted value has no closing quote"
        case .textAfterQuote(let line): return "line \(line): text after the closing quote (only a # comment may follow)"
        case .notUTF8(let line): return "line \(line) is not UTF-8 text"
        case .duplicateKey(let key, let line): return (line.map { "line \($0): " } ?? "") + "\(Text.quoted(key)) appears twice"
        case .notFlatJSON(let reason, let line): return "not a flat JSON object of strings: \(reason) (line \(line))"
        case .notAString(let key): return "the value of \(Text.quoted(key)) is not a string"
        case .notFlatYAML(let reason): return "not a flat YAML mapping of strings: \(reason)"
        case .invalidKey(let key, let reason): return "the key \(Text.quoted(key)) does not make a secret id: \(reason)"
        case .sameKey(let key, let ids): return ids.joined(separator: " and ") + " would both be written as \(Text.quoted(key)); export the prefix's parent instead"
        case .notDotenvKey(let key): return "\(Text.quoted(key)) is not a dotenv name ([A-Za-z_][A-Za-z0-9_.]*)"
        case .valueNotUTF8(let key): return "the value of \(Text.quoted(key)) is not UTF-8 text, which plaintext formats cannot carry"
        case .notQuotableForShell(let key): return "the value of \(Text.quoted(key)) \(Dotenv.notQuotableReason)"
        }
    }
}
