import Age
import CofferKit
import Posix
import Synchronization

/// One-time reveal links (`POST /v1/reveal-links/{id}`): a random 256-bit
/// link token, valid once for `lifetime` seconds, kept only in this
/// process's memory and only as its hash (a restart voids every link).
/// A used or expired link answers 410 until it is forgotten, a while later.
final class RevealLinks: Sendable {
    struct Link: Sendable {
        let id: SecretID
        /// The token that made it (its name, for the audit log, and its
        /// identity: the link dies with it, even if another takes its name).
        let minter: String
        let minterIdentity: String
        let expires: Double
        var used = false
    }

    enum Redemption: Equatable {
        case value(SecretID, minter: String, identity: String)
        case gone
        case unknown
    }

    let lifetime: Int
    private let links = Mutex<[String: Link]>([:])
    /// Links are remembered this long after they expire, to say 410 rather than 404.
    private static let memory = 600.0
    /// The most links remembered at once (about 200 bytes each).
    static let capacity = 20_000
    static let prefix = "cfl_"

    init(lifetime: Int) {
        self.lifetime = lifetime
    }

    /// A new link to `id`: the link token, shown once. Nil when `capacity`
    /// links are outstanding (rate limits keep a token from getting there alone).
    func mint(_ id: SecretID, by minter: AccessToken, now: Double = Monotonic.seconds()) -> String? {
        // A capability that travels in a URL (and so as a string): random, used once, short-lived.
        let token = RevealLinks.prefix + RandomBytes.hex(count: 32)
        return links.withLock { links in
            if links.count >= RevealLinks.capacity { links = links.filter { now < $0.value.expires + RevealLinks.memory } }
            guard links.count < RevealLinks.capacity else { return nil }
            links[RevealLinks.digest(token)] = Link(id: id, minter: minter.name, minterIdentity: minter.identity,
                                                    expires: now + Double(lifetime))
            return token
        }
    }

    /// Uses the link: its id the first time within its life, then `.gone`.
    func redeem(_ token: String, now: Double = Monotonic.seconds()) -> Redemption {
        let key = RevealLinks.digest(token)
        return links.withLock { links in
            guard var link = links[key] else { return .unknown }
            guard !link.used, now < link.expires else { return .gone }
            link.used = true
            links[key] = link
            return .value(link.id, minter: link.minter, identity: link.minterIdentity)
        }
    }

    /// Gives a link back after a reveal that failed before any value left
    /// because the vault was busy: the caller may try again.
    func restore(_ token: String) {
        links.withLock { links in links[RevealLinks.digest(token)]?.used = false }
    }

    private static func digest(_ token: String) -> String {
        Digest.sha256(Array(token.utf8)).map { String(Int($0) + 0x100, radix: 16).dropFirst() }.joined()
    }
}
