#if canImport(Glibc)
import Glibc
#endif
import Age
import SSHSig

/// Someone the vault trusts to sign (bundles now, commits later): a name
/// and the Ed25519 key that signs as it, from a line of the root
/// `.signers`. That line's options (`namespaces="…"`, `valid-after`,
/// `valid-before`) still bind the key: `permits` says whether it may sign
/// for a use at a time, as `ssh-keygen -Y verify` would.
public struct Signer: Equatable, Sendable, CustomStringConvertible {
    /// The principal: the name the key signs as.
    public let name: String
    public let key: SSHEd25519PublicKey
    /// The line it comes from, for its options.
    let entry: AllowedSigner

    /// A new signer (no options); the name must be usable as a principal.
    public init(name: String, key: SSHEd25519PublicKey) throws {
        try Text.refuseSecretKey(name, as: "the signer's name")
        do {
            entry = try AllowedSigner(principals: [name], key: key)
        } catch let error as SSHSigError {
            throw VaultError.invalidSigner(reason: error.description)
        }
        self.name = name
        self.key = key
    }

    /// The principal when no name is known at all (no `--name`, no `$USER`).
    public static let defaultName = "coffer"

    /// Refuses a name that cannot be a principal in `.signers` (empty,
    /// control characters, one of `, " * ? !`, a leading `#`, a pasted key).
    public static func checkName(_ name: String) throws {
        try Text.refuseSecretKey(name, as: "the signer's name")
        do { try AllowedSigner.checkPrincipal(name) } catch let error as SSHSigError {
            throw VaultError.invalidSigner(reason: error.description)
        }
    }

    init(name: String, entry: AllowedSigner) {
        self.name = name
        key = entry.key
        self.entry = entry
    }

    /// True when the line lets the key sign for `namespace` (such as
    /// `coffer-bundle`) at `time`, in seconds since 1970.
    public func permits(namespace: String, at time: Int64) -> Bool { entry.permits(namespace: namespace, at: time) }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    public var fingerprint: String { key.fingerprint }

    /// The options on its line, as written (nil: none).
    public var options: String? { entry.options }

    public var description: String { "\(name) \(key.fingerprint)" }
}

/// Who `signers rm` means: a key (`ssh-ed25519 …`, every line listing it)
/// or a name (that principal, on every line).
public enum SignerSelector: Equatable, Sendable, CustomStringConvertible {
    case key(SSHEd25519PublicKey)
    case name(String)

    /// A key type, a blank and more (`ssh-ed25519 AAAA…`) selects by key;
    /// anything else by name (so a name may start with `ssh-`).
    public init(_ text: String) throws {
        try Text.refuseSecretKey(text, as: "the signer")
        let type = text.prefix { $0 != " " && $0 != "\t" }
        if type.count < text.count, type.hasPrefix("ssh-") || type.hasPrefix("ecdsa-") || type.hasPrefix("sk-") {
            do { self = .key(try SSHEd25519PublicKey(parsingAuthorizedKey: text)) } catch let error as SSHSigError {
                throw VaultError.invalidSigner(reason: error.description)
            }
        } else {
            self = .name(text)
        }
    }

    public var description: String {
        switch self {
        case .key(let key): return key.authorizedKey
        case .name(let name): return name
        }
    }
}

/// The root `.signers`: OpenSSH's allowed_signers format, so the same file
/// is `ssh-keygen -Y verify -f .signers`'s. Edits keep every other line —
/// comments, blank lines, options — as written; a line that changes is
/// written again in OpenSSH's canonical spacing.
struct SignersFile: Equatable, Sendable {
    static let fileName = ".signers"
    /// Far more than any team's list: a bigger file is not one coffer wrote.
    static let maxSize = 1 << 20

    static let header = """
        # Who may sign for this vault (bundles and commits), in OpenSSH's allowed_signers
        # format: `ssh-keygen -Y verify -f .signers -I NAME -n coffer-bundle` checks a bundle's
        # signature with it, `git verify-commit` a commit's (after `coffer setup`).
        # Change it with `coffer signers add|rm`, one reviewed commit each.

        """

    struct Line: Equatable, Sendable {
        var text: String
        var entry: AllowedSigner?
    }

    private(set) var lines: [Line]

    var entries: [AllowedSigner] { lines.compactMap(\.entry) }

    /// One signer per principal of each line, in file order.
    var signers: [Signer] { entries.flatMap { entry in entry.principals.map { Signer(name: $0, entry: entry) } } }

    init(signers: [Signer]) {
        lines = SignersFile.header.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { Line(text: String($0), entry: nil) }
        lines += signers.map { Line(text: $0.entry.line, entry: $0.entry) }
    }

    /// Lines end at LF (a CR before it is dropped); any other control
    /// character, or a non-ASCII blank, is refused, as in `.recipients`: a
    /// key must not hide in what `git diff` shows as a comment.
    init(parsing text: String, path: String) throws {
        var rawLines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
        if rawLines.last?.isEmpty == true { rawLines.removeLast() }
        lines = []
        for (n, rawBytes) in rawLines.enumerated() {
            var bytes = rawBytes[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            let raw = String(decoding: bytes, as: UTF8.self)
            guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }),
                  !raw.unicodeScalars.contains(where: { $0.properties.isWhitespace && $0.value > 0x7F })
            else { throw VaultError.invalidSignersFile(path: path, line: n + 1, reason: "control characters or a non-ASCII blank") }
            let content = raw.drop { $0 == " " || $0 == "\t" }
            if content.isEmpty || content.hasPrefix("#") {
                lines.append(Line(text: raw, entry: nil))
                continue
            }
            do {
                lines.append(Line(text: raw, entry: try AllowedSigner(parsing: raw)))
            } catch let error as SSHSigError {
                throw VaultError.invalidSignersFile(path: path, line: n + 1, reason: error.description)
            }
        }
    }

    var text: String { lines.map { $0.text + "\n" }.joined() }

    /// With `signer` on a line of its own at the end.
    func adding(_ signer: Signer) -> SignersFile {
        var copy = self
        copy.lines.append(Line(text: signer.entry.line, entry: signer.entry))
        return copy
    }

    /// Without what `selector` names: a key's lines, or a name among a
    /// line's principals (the line goes when it names no one else).
    func removing(_ selector: SignerSelector) -> SignersFile {
        var copy = self
        copy.lines = lines.compactMap { line in
            guard let entry = line.entry else { return line }
            switch selector {
            case .key(let key):
                return entry.key == key ? nil : line
            case .name(let name):
                guard entry.principals.contains(name) else { return line }
                let rest = entry.principals.filter { $0 != name }
                guard !rest.isEmpty else { return nil }
                return SignersFile.line(try! AllowedSigner(principals: rest, key: entry.key, options: entry.options, comment: entry.comment))
            }
        }
        return copy
    }

    /// With `new` in place of each key in `old`, principals, options and
    /// comments kept (`identity rotate`). Each old key stays on a line of
    /// its own, for namespace `git` only and bounded by `valid-before`
    /// (`until`, seconds since 1970), so stock `git verify-commit` still
    /// accepts the commits it signed; the chain of trust lets no such line
    /// authorize anything new.
    func replacing(_ old: Set<SSHEd25519PublicKey>, with new: SSHEd25519PublicKey, retiredAt until: Int64) -> SignersFile {
        var copy = self
        copy.lines = lines.flatMap { line -> [Line] in
            // A line already retired (bounded by valid-before) stays as it is.
            guard let entry = line.entry, old.contains(entry.key), entry.validBefore == nil else { return [line] }
            let renewed = SignersFile.line(try! AllowedSigner(principals: entry.principals, key: new, options: entry.options, comment: entry.comment))
            // Commits only (a bundle signed with the old key is refused at once), and only those made before now.
            let bound = "namespaces=\"\(CommitSigner.namespace)\",valid-before=\"\(SignersFile.timestamp(until))\""
            let retired = try? AllowedSigner(principals: entry.principals, key: entry.key, options: bound,
                                             comment: "retired by coffer identity rotate")
            return [renewed] + (retired.map { [SignersFile.line($0)] } ?? [])
        }
        return copy
    }

    /// `YYYYMMDDHHMMSSZ`, as allowed_signers writes a time in UTC.
    static func timestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    private static func line(_ entry: AllowedSigner) -> Line { Line(text: entry.line, entry: entry) }
}
