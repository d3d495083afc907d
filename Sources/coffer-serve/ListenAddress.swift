#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// `HOST:PORT` (`[::1]:PORT` for IPv6), loopback unless remote is allowed.
struct ListenAddress {
    let host: String
    let port: Int

    init(_ text: String, allowRemote: Bool) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT, as 127.0.0.1:\(ServeCommand.defaultPort)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen needs a host, as 127.0.0.1:\(port)") }
        // The one name taken: it is loopback by definition, whatever the resolver says.
        if host == "localhost" { host = "127.0.0.1" }
        guard allowRemote || ListenAddress.isLoopback(host) else {
            throw ValidationError("\(host) is not a loopback address (127.0.0.1, [::1] or localhost); pass --allow-remote "
                                  + "to serve beyond this host (and put a TLS proxy in front: coffer serve speaks plain HTTP)")
        }
        self.host = host
        self.port = port
    }

    /// 127.0.0.0/8 and ::1, written as addresses: a name could resolve anywhere.
    static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, host, &v6) == 1 { return host == "::1" || withUnsafeBytes(of: v6) { Array($0) } == Array(repeating: 0, count: 15) + [1] }
        return false
    }
}
