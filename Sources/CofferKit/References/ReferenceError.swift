/// Whether a referenced secret can be read with the identities given.
public enum ReferenceStatus: String, Sendable, CaseIterable {
    case readable
    case missing
    /// The file is there, sealed for other readers.
    case notAReader = "not a reader"
    /// The file does not parse, authenticate or belong to its id.
    case damaged
}

/// Why a config document could not be rendered. Cases name ids, lines and
/// paths in the template, never a value.
public enum ReferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `${coffer:…}` or `coffer:…` that does not name a valid id (the template's own text).
    case invalidReference(location: String, reason: String)
    /// Every referenced id that could not be read, and why; nothing was rendered.
    case unresolved([UnresolvedReference])
    /// A value that is not UTF-8 text, which JSON, YAML and dotenv cannot carry.
    case notUTF8(id: String)
    /// A dotenv value holding anything but `[A-Za-z0-9@%+=:,./_-]`, inside
    /// a longer value where coffer cannot quote it.
    case unsafeInDotenv(id: String, line: Int)
    /// A dotenv line's whole value holding `$` or a backtick as well as a
    /// quote, backslash or line break: no quoting keeps it inert in a shell.
    case notQuotableInDotenv(id: String, line: Int)
    /// JSON that does not parse; `reason` is coffer's own words.
    case notJSON(reason: String, line: Int)
    /// A document the format cannot take (`reason` in coffer's or the YAML helper's words).
    case notADocument(format: String, reason: String)
    /// A YAML stream of several documents (`---` between them), the second
    /// starting at `line`: which one to fill, or how to join them, is not render's to guess.
    case severalDocuments(line: Int)

    public var description: String {
        switch self {
        case .invalidReference(let location, let reason): return "\(location): not a reference: \(reason)"
        case .unresolved(let unresolved):
            return "cannot read " + unresolved.map { "\($0.id) (\($0.status.rawValue))" }.joined(separator: ", ") + "; nothing was written"
        case .notUTF8(let id): return "the value of \(id) is not UTF-8 text, which this format cannot carry"
        case .unsafeInDotenv(let id, let line):
            return "line \(line): the value of \(id) holds characters other than A-Z a-z 0-9 \(Dotenv.inertPunctuation)"
                + ", which could change how the line reads or run in a shell that sources it"
        case .notQuotableInDotenv(let id, let line): return "line \(line): the value of \(id) \(Dotenv.notQuotableReason)"
        case .notJSON(let reason, let line): return "not JSON: \(reason) (line \(line))"
        case .notADocument(let format, let reason): return "not a \(format) document: \(reason)"
        case .severalDocuments(let line): return "the file holds more than one YAML document (`---` at line \(line)); render takes one"
        }
    }
}

/// A referenced id that could not be read, and why.
public struct UnresolvedReference: Equatable, Sendable {
    public let id: SecretID
    public let status: ReferenceStatus
}
