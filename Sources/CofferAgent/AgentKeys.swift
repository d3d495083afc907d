import Age
import AgeSSH
import SSHSig

/// What an agent holds: one identity file's unlocked keys (coffer's X25519
/// keys, or an OpenSSH Ed25519 key) and its signing key, in wiped buffers
/// (`SecureBytes`, locked in memory). It answers with file keys for stanzas
/// its keys open and signatures for the namespaces it was given; no answer
/// has room for a private key. `wipe()` drops them.
public final class AgentKeys {
    public let identityPath: String
    private var held: [(key: AgentKey, identity: Identity)]
    private var signingKey: SSHSigningKey?
    private let namespaces: Set<String>

    /// - Parameters:
    ///   - identityPath: the identity file they came from (absolute); clients match it.
    ///   - identities: X25519 and SSH Ed25519 identities; any other kind (a
    ///     plugin's, which has its own process to ask) is refused.
    ///   - signingKey: for an SSH identity, that key itself.
    ///   - namespaces: the only SSHSIG namespaces it signs for.
    public init(identityPath: String, identities: [Identity], signingKey: SSHSigningKey?, namespaces: Set<String>) throws {
        held = try identities.map { identity in
            guard let key = AgentKey(of: identity) else { throw AgentError.cannotHold(kind: String(describing: type(of: identity))) }
            return (key, identity)
        }
        self.identityPath = identityPath
        self.signingKey = signingKey
        self.namespaces = namespaces
    }

    public var publicKeys: AgentPublicKeys {
        AgentPublicKeys(readers: held.map(\.key), signingKey: signingKey?.publicKey)
    }

    /// Releases the keys: their buffers are zeroed as they go.
    public func wipe() {
        held = []
        signingKey = nil
    }

    func unwrap(_ headers: [[Stanza]], key: AgentKey?) -> AgentResponse {
        let usable = held.filter { key == nil || $0.key == key }
        return .unwrapped(headers.map { stanzas in
            for (key, identity) in usable {
                do {
                    if case .fileKey(let fileKey) = try identity.unwrap(stanzas) { return .fileKey(fileKey) }
                } catch AgeError.invalidStanza(let type, let reason) {
                    return .malformed(type: type, reason: reason)
                } catch {
                    return .malformed(type: key.stanzaType, reason: "the stanza could not be opened")
                }
            }
            return .notMine
        })
    }

    func sign(_ message: [UInt8], namespace: String) -> AgentResponse {
        guard namespaces.contains(namespace) else {
            return .refused("it signs only for the namespaces \(namespaces.sorted().joined(separator: ", ")), not \(namespace.debugDescription)")
        }
        guard let signingKey else { return .refused("it holds no signing key") }
        do {
            return .signature(try signingKey.sign(message, namespace: namespace))
        } catch {
            return .refused("the namespace \(namespace.debugDescription) is not a valid one")
        }
    }
}
