import Age

/// A bearer token of this host's `coffer serve`, as the host keeps it: its
/// name, the id prefixes it reaches, its rights and lifetime, and a keyed
/// hash of the token — never the token itself, which is shown once.
public struct AccessToken: Equatable, Sendable {
    /// What a token may do within its prefixes.
    public struct Rights: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// List ids and read metadata and masked values.
        public static let read = Rights(rawValue: 1 << 0)
        /// Set and delete secrets.
        public static let write = Rights(rawValue: 1 << 1)
        /// Read values in clear.
        public static let reveal = Rights(rawValue: 1 << 2)
        /// Mint one-time reveal links.
        public static let revealLinks = Rights(rawValue: 1 << 3)

        static let names: [(Rights, String)] = [(.read, "read"), (.write, "write"), (.reveal, "reveal"), (.revealLinks, "reveal-links")]

        /// `read,write,…`, in a fixed order.
        public var description: String { Rights.names.filter { contains($0.0) }.map(\.1).joined(separator: ",") }

        /// As `description` writes them: known, in order, each once, read among them.
        init?(parsing text: Substring) {
            var rights: Rights = []
            for word in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let (right, _) = Rights.names.first(where: { $0.1 == word }), !rights.contains(right) else { return nil }
                rights.insert(right)
            }
            guard rights.contains(.read), rights.description == text else { return nil }
            self = rights
        }
    }

    /// An id prefix a token reaches, as it was given: `dev/` (with its
    /// slash) only the ids under `dev/`; `dev` those and the id `dev` itself,
    /// as `coffer list dev` lists them; `/` every id.
    public struct Scope: Equatable, Sendable, CustomStringConvertible {
        public let prefix: Prefix
        /// Given with a trailing slash: the directory's ids, not an id of that name.
        public let directoryOnly: Bool

        public init(_ text: String) throws {
            prefix = try Prefix(text)
            directoryOnly = !prefix.isAll && text.hasSuffix("/")
        }

        public func reaches(_ id: SecretID) -> Bool {
            directoryOnly ? id.value.hasPrefix(prefix.path + "/") : prefix.contains(id)
        }

        public var description: String { prefix.isAll ? "/" : prefix.path + (directoryOnly ? "/" : "") }
    }

    /// Unique on this host; letters, digits, `.`, `_` and `-`.
    public let name: String
    /// The id prefixes the token reaches (`/` for all).
    public let prefixes: [Scope]
    public let rights: Rights
    /// Seconds since 1970.
    public let created: Int
    /// Seconds since 1970; nil for a token that does not expire.
    public let expires: Int?
    /// The keyed BLAKE2b-256 hash of the token (hex).
    let hash: String

    /// What tells this token from another of the same name (one revoked and
    /// made again): its hash, which is no secret (the tokens file holds it).
    /// Reveal links, idempotency keys and rate limits are bound to it.
    public var identity: String { hash }

    /// The longest lifetime a token may be given: about 68 years.
    public static let longestLifetime = Int(Int32.max)

    /// True when `id` is under one of the token's prefixes.
    public func reaches(_ id: SecretID) -> Bool { prefixes.contains { $0.reaches(id) } }

    /// True when the token has expired at `now` (seconds since 1970).
    public func hasExpired(at now: Int) -> Bool { expires.map { now >= $0 } ?? false }

    /// A name a token may have.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy {
            switch $0 {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// `token NAME HASH created=T expires=T|never rights=… prefixes=P,P`
    var line: String {
        "token \(name) \(hash) created=\(created) expires=\(expires.map(String.init) ?? "never") rights=\(rights.description) "
            + "prefixes=\(prefixes.map(\.description).joined(separator: ","))"
    }

    init(name: String, prefixes: [Scope], rights: Rights, created: Int, expires: Int?, hash: String) {
        self.name = name
        self.prefixes = prefixes
        self.rights = rights
        self.created = created
        self.expires = expires
        self.hash = hash
    }

    /// One line of the tokens file; nil when it is not one coffer wrote.
    init?(line: Substring) {
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 7, words[0] == "token", AccessToken.isValidName(String(words[1])),
              words[2].utf8.count == 2 * Digest.keyedHashSize, words[2].utf8.allSatisfy(AccessToken.isHex) else { return nil }
        func value(_ word: Substring, _ key: String) -> Substring? {
            word.hasPrefix(key + "=") ? word.dropFirst(key.count + 1) : nil
        }
        func number(_ text: Substring) -> Int? { text.utf8.allSatisfy { (0x30...0x39).contains($0) } ? Int(text) : nil }
        guard let created = value(words[3], "created").flatMap(number),
              let expires = value(words[4], "expires"),
              let rights = value(words[5], "rights").flatMap(Rights.init(parsing:)),
              let prefixes = value(words[6], "prefixes")?.split(separator: ",", omittingEmptySubsequences: false).map({ try? Scope(String($0)) }),
              !prefixes.isEmpty, !prefixes.contains(where: { $0 == nil }) else { return nil }
        let expiry: Int?
        if expires == "never" { expiry = nil } else if let t = number(expires) { expiry = t } else { return nil }
        self.init(name: String(words[1]), prefixes: prefixes.compactMap { $0 }, rights: rights, created: created,
                  expires: expiry, hash: String(words[2]))
    }

    static func isHex(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
    }
}
