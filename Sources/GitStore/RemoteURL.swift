/// The parts of a remote URL a transfer's callbacks need: the scheme picks
/// the credential kind, host and port name the known_hosts entry, and the
/// rest is what git's credential helpers are asked about.
///
/// Parsed as libgit2 1.5 parses them: `scheme://[user[:password]@]host[:port]/path`,
/// scp-like `[user@]host:path`, and the bracketed scp-like form that can carry
/// a port, `[user@host:port]:path`. Anything else is a local path.
struct RemoteURL: Equatable {
    enum Kind: Equatable { case ssh, http, https, file, local, other(String) }

    let kind: Kind
    let user: String?
    let host: String
    /// Nil when the URL names none (22 for ssh, 80/443 for http(s)).
    let port: Int?
    /// The path as given, without the leading `/` of a URL ("team/vault.git").
    let path: String
    /// The URL with any password in it removed: the form errors may quote.
    let redacted: String

    init(_ text: String) {
        if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://"),
           !text[..<colon].isEmpty, text[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }) {
            let scheme = text[..<colon].lowercased()
            let rest = text[text.index(colon, offsetBy: 3)...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            var user: String?
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                user = String(userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                authority = authority[authority.index(after: at)...]
            }
            let (host, port) = RemoteURL.hostAndPort(authority)
            switch scheme {
            case "ssh", "ssh+git", "git+ssh": kind = .ssh
            case "http": kind = .http
            case "https": kind = .https
            case "file": kind = .file
            default: kind = .other(scheme)
            }
            self.user = user.map(RemoteURL.percentDecoded)
            self.host = host
            self.port = port
            path = String(rest[authorityEnd...].drop { $0 == "/" })
            redacted = "\(scheme)://" + (user.map { "\($0)@" } ?? "") + authority + rest[authorityEnd...]
            return
        }
        redacted = text
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"),
           text[text.index(after: close)...].hasPrefix(":") {
            // [user@host:port]:path
            var inside = text[text.index(after: text.startIndex)..<close]
            var user: String?
            if let at = inside.firstIndex(of: "@") {
                user = String(inside[..<at])
                inside = inside[inside.index(after: at)...]
            }
            let (host, port) = RemoteURL.hostAndPort(inside)
            kind = .ssh
            self.user = user
            self.host = host
            self.port = port
            path = String(text[text.index(close, offsetBy: 2)...])
            return
        }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // [user@]host:path, as git tells it from a local path: a colon before any slash.
            let authority = text[..<colon]
            let at = authority.lastIndex(of: "@")
            kind = .ssh
            user = at.map { String(authority[..<$0]) }
            host = String(at.map { authority[authority.index(after: $0)...] } ?? authority)
            port = nil
            path = String(text[text.index(after: colon)...])
            return
        }
        kind = .local
        user = nil
        host = ""
        port = nil
        path = text
    }

    /// The name known_hosts files use for this host: `host`, or
    /// `[host]:port` when the port is not ssh's 22.
    var knownHostsName: String {
        guard let port, port != 22 else { return host }
        return "[\(host)]:\(port)"
    }

    /// `host[:port]` as git's credential protocol names it.
    var credentialHost: String { port.map { "\(host):\($0)" } ?? host }

    private static func hostAndPort(_ authority: Substring) -> (String, Int?) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            return (host, after.hasPrefix(":") ? Int(after.dropFirst()) : nil)
        }
        if let colon = authority.lastIndex(of: ":") {
            return (String(authority[..<colon]), Int(authority[authority.index(after: colon)...]))
        }
        return (String(authority), nil)
    }

    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
