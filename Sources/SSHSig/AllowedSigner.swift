#if canImport(Glibc)
import Glibc
#endif

/// One entry of an OpenSSH allowed_signers file (ssh-keygen(1), ALLOWED
/// SIGNERS): `principals [options] ssh-ed25519 BASE64 [comment]`, the file
/// `ssh-keygen -Y verify -f` reads. A subset, read strictly: principals are
/// plain names (a pattern such as `*@example.com` would trust a key for
/// names nobody listed, so it is refused), the options are those OpenSSH
/// knows for signatures except `cert-authority`, and the key is Ed25519.
/// The options are kept as written, so a rewrite leaves them as they were.
public struct AllowedSigner: Equatable, Sendable {
    /// The names this key may sign as, in file order.
    public let principals: [String]
    /// The options as written (`namespaces="…",valid-before="…"`), if any.
    public let options: String?
    public let key: SSHEd25519PublicKey
    /// Text after the key, kept as written.
    public let comment: String?
    /// The `namespaces="…"` pattern list: the only uses the key may sign for.
    public let namespaces: String?
    /// `valid-after` and `valid-before`, in seconds since 1970.
    public let validAfter: Int64?
    public let validBefore: Int64?

    static let maxPrincipalLength = 256
    /// A line is a key (about 100 bytes), names and options: far less than this.
    static let maxLineLength = 8192

    public init(principals: [String], key: SSHEd25519PublicKey, options: String? = nil, comment: String? = nil) throws {
        guard !principals.isEmpty else { throw SSHSigError.invalidAllowedSigner("no principal") }
        for principal in principals { try AllowedSigner.checkPrincipal(principal) }
        if let comment, comment.unicodeScalars.contains(where: AllowedSigner.isControl) {
            throw SSHSigError.invalidAllowedSigner("the comment holds control characters")
        }
        let parsed = try options.map(Options.init) ?? Options()
        self.principals = principals
        self.options = options
        self.key = key
        self.comment = comment.flatMap { $0.isEmpty ? nil : $0 }
        namespaces = parsed.namespaces
        validAfter = parsed.validAfter
        validBefore = parsed.validBefore
    }

    /// Parses an entry line (not blank, not a `#` comment, no line break).
    public init(parsing line: String) throws {
        guard line.utf8.count <= AllowedSigner.maxLineLength else { throw SSHSigError.invalidAllowedSigner("the line is over \(AllowedSigner.maxLineLength) bytes") }
        var rest = Substring(line).drop { $0 == " " || $0 == "\t" }
        let principals: Substring
        if rest.first == "\"" {
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else { throw SSHSigError.invalidAllowedSigner("the principals' closing quote is missing") }
            principals = rest[..<close]
            rest = rest[rest.index(after: close)...]
            guard rest.first == " " || rest.first == "\t" else { throw SSHSigError.invalidAllowedSigner("no key after the principals") }
        } else {
            principals = AllowedSigner.token(&rest, quoting: false)
            guard !principals.contains("\"") else { throw SSHSigError.invalidAllowedSigner("a quote inside the principals") }
        }
        rest = rest.drop { $0 == " " || $0 == "\t" }
        var options: Substring?
        var type = AllowedSigner.token(&rest, quoting: true)
        if type != Substring(SSHEd25519PublicKey.type) && !looksLikeKeyType(type) {
            options = type
            type = AllowedSigner.token(&rest, quoting: false)
        }
        guard !type.isEmpty else { throw SSHSigError.invalidAllowedSigner("no key") }
        let encoded = AllowedSigner.token(&rest, quoting: false)
        let key = try SSHEd25519PublicKey(parsingAuthorizedKey: type + " " + encoded)
        try self.init(principals: principals.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
                      key: key, options: options.map(String.init), comment: rest.trimmingBlanks())
    }

    /// The line as an allowed_signers file holds it.
    public var line: String {
        let names = principals.joined(separator: ",")
        return ([names.contains(" ") ? "\"" + names + "\"" : names] + [options, key.authorizedKey, comment].compactMap { $0 })
            .joined(separator: " ")
    }

    /// True when the line lets its key sign for `namespace` at `time`
    /// (seconds since 1970), as `ssh-keygen -Y verify` decides.
    public func permits(namespace: String, at time: Int64) -> Bool {
        if let namespaces, !Pattern.matchesList(namespace, namespaces) { return false }
        if let validAfter, time < validAfter { return false }
        if let validBefore, time > validBefore { return false }
        return true
    }

    /// Refuses what cannot be a principal in an allowed_signers file:
    /// empty, control characters, the separators and pattern characters
    /// `, " * ? !`, a leading `#`, spaces at either end, over 256 bytes.
    public static func checkPrincipal(_ name: String) throws {
        let problem: String?
        if name.isEmpty { problem = "it is empty" }
        else if name.utf8.count > maxPrincipalLength { problem = "it is over \(maxPrincipalLength) bytes" }
        else if name.unicodeScalars.contains(where: { isControl($0) || $0 == "\t" || $0.properties.isWhitespace && $0 != " " }) {
            problem = "it holds control characters or tabs"
        } else if name.contains(where: { ",\"*?!".contains($0) }) { problem = "it holds one of , \" * ? ! (list and pattern characters)" }
        else if name.hasPrefix("#") { problem = "it starts with #" }
        else if name.hasPrefix(" ") || name.hasSuffix(" ") { problem = "it starts or ends with a space" }
        else { problem = nil }
        if let problem { throw SSHSigError.invalidAllowedSigner("principal \(Quote.public(name)) cannot be used: \(problem)") }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7F }

    /// The next blank-separated token; with `quoting`, blanks inside double
    /// quotes (where `\"` is a quote) do not end it.
    private static func token(_ text: inout Substring, quoting: Bool) -> Substring {
        text = text.drop { $0 == " " || $0 == "\t" }
        var end = text.startIndex
        var quoted = false
        while end < text.endIndex {
            let c = text[end]
            if !quoted && (c == " " || c == "\t") { break }
            if quoting && c == "\\" && quoted, text.index(after: end) < text.endIndex, text[text.index(after: end)] == "\"" {
                end = text.index(end, offsetBy: 2)
                continue
            }
            if quoting && c == "\"" { quoted.toggle() }
            end = text.index(after: end)
        }
        defer { text = text[end...].drop { $0 == " " || $0 == "\t" } }
        return text[..<end]
    }
}

/// The options of a line, as OpenSSH's `sshsigopt_parse` reads them.
private struct Options {
    var namespaces: String?
    var validAfter: Int64?
    var validBefore: Int64?

    init() {}

    init(_ text: String) throws {
        let fail = { (reason: String) in SSHSigError.invalidAllowedSigner("options \(Quote.public(text)): \(reason)") }
        var rest = Substring(text)
        while !rest.isEmpty {
            let lower = rest.prefix(16).lowercased()
            if lower.hasPrefix("cert-authority") {
                throw fail("cert-authority is not supported; list the signing keys themselves")
            } else if lower.hasPrefix("namespaces=") {
                guard namespaces == nil else { throw fail("namespaces given twice") }
                rest = rest.dropFirst("namespaces=".count)
                namespaces = try Options.quoted(&rest, fail)
            } else if lower.hasPrefix("valid-after=") || lower.hasPrefix("valid-before=") {
                let after = lower.hasPrefix("valid-after=")
                guard (after ? validAfter : validBefore) == nil else { throw fail("a validity time given twice") }
                rest = rest.dropFirst(after ? "valid-after=".count : "valid-before=".count)
                guard let time = Options.time(try Options.quoted(&rest, fail)) else { throw fail("not a time (YYYYMMDD[HHMM[SS]][Z])") }
                if after { validAfter = time } else { validBefore = time }
            } else {
                throw fail("unknown option")
            }
            if rest.isEmpty { break }
            guard rest.first == "," else { throw fail("options are separated by commas") }
            rest = rest.dropFirst()
            guard !rest.isEmpty else { throw fail("a comma ends the options") }
        }
        if let after = validAfter, let before = validBefore, before <= after { throw fail("valid-before is not after valid-after") }
    }

    /// A double-quoted value (`\"` stands for a quote), consumed from `text`.
    private static func quoted(_ text: inout Substring, _ fail: (String) -> SSHSigError) throws -> String {
        guard text.first == "\"" else { throw fail("a value is not in double quotes") }
        text = text.dropFirst()
        var value = ""
        while let c = text.first {
            text = text.dropFirst()
            if c == "\\", text.first == "\"" {
                value.append("\"")
                text = text.dropFirst()
            } else if c == "\"" {
                return value
            } else {
                value.append(c)
            }
        }
        throw fail("a closing quote is missing")
    }

    /// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, UTC with a `Z` or
    /// `UTC` suffix, else local time (OpenSSH's `parse_absolute_time`).
    static func time(_ text: String) -> Int64? {
        var digits = Substring(text)
        var utc = false
        if digits.count > 1, digits.uppercased().hasSuffix("Z") { digits = digits.dropLast(); utc = true }
        else if digits.count > 3, digits.uppercased().hasSuffix("UTC") { digits = digits.dropLast(3); utc = true }
        guard [8, 12, 14].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let n = digits.map { Int32(String($0))! }
        func field(_ at: Int, _ width: Int) -> Int32 { n[at..<(at + width)].reduce(0) { $0 * 10 + $1 } }
        var parts = tm()
        parts.tm_year = field(0, 4) - 1900
        parts.tm_mon = field(4, 2) - 1
        parts.tm_mday = field(6, 2)
        if digits.count >= 12 { parts.tm_hour = field(8, 2); parts.tm_min = field(10, 2) }
        if digits.count == 14 { parts.tm_sec = field(12, 2) }
        parts.tm_isdst = -1
        guard (0...11).contains(parts.tm_mon), (1...31).contains(parts.tm_mday), (0...23).contains(parts.tm_hour),
              (0...59).contains(parts.tm_min), (0...60).contains(parts.tm_sec) else { return nil }
        let seconds = utc ? timegm(&parts) : mktime(&parts)
        return seconds <= 0 ? nil : Int64(seconds)
    }
}

/// OpenSSH's pattern lists (`match_pattern_list`): comma-separated globs
/// with `*` and `?`; a `!` in front denies. A name matches when some
/// pattern allows it and none denies it.
enum Pattern {
    static func matchesList(_ name: String, _ list: String) -> Bool {
        var allowed = false
        for pattern in list.split(separator: ",", omittingEmptySubsequences: false) {
            let negated = pattern.hasPrefix("!")
            guard matches(Array(name.utf8), Array((negated ? pattern.dropFirst() : pattern).utf8)) else { continue }
            if negated { return false }
            allowed = true
        }
        return allowed
    }

    /// Greedy with one backtrack point (the last `*`), so time stays
    /// proportional to name × pattern however many stars there are.
    static func matches(_ name: [UInt8], _ pattern: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*"), any = UInt8(ascii: "?")
        var n = 0, p = 0, lastStar = -1, resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == star {
                lastStar = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == any || pattern[p] == name[n] {
                n += 1
                p += 1
            } else if lastStar >= 0 {
                p = lastStar + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}
