import Age
import SSHSig

/// What an agent holds: one identity file's unlocked keys and its signing
/// key, in wiped buffers (`SecureBytes`, locked in memory). It answers with
/// file keys for stanzas its keys open and signatures for the namespaces it
/// was given; no answer has room for a private key. `wipe()` drops them.
public final class AgentKeys {
    public let identityPath: String
    private var identities: [X25519Identity]
    private var signingKey: SSHSigningKey?
    private let namespaces: Set<String>

    /// - Parameters:
    ///   - identityPath: the identity file they came from (absolute); clients match it.
    ///   - namespaces: the only SSHSIG namespaces it signs for.
    public init(identityPath: String, identities: [X25519Identity], signingKey: SSHSigningKey?, namespaces: Set<String>) {
        self.identityPath = identityPath
        self.identities = identities
        self.signingKey = signingKey
        self.namespaces = namespaces
    }

    public var publicKeys: AgentPublicKeys {
        AgentPublicKeys(recipients: identities.map(\.recipient), signingKey: signingKey?.publicKey)
    }

    /// Releases the keys: their buffers are zeroed as they go.
    public func wipe() {
        identities = []
        signingKey = nil
    }

    func unwrap(_ headers: [[Stanza]], key: X25519Recipient?) -> AgentResponse {
        let usable = identities.filter { key == nil || $0.recipient == key }
        return .unwrapped(headers.map { stanzas in
            for identity in usable {
                do {
                    if case .fileKey(let fileKey) = try identity.unwrap(stanzas) { return .fileKey(fileKey) }
                } catch AgeError.invalidStanza(_, let reason) {
                    return .malformed(reason)
                } catch {
                    return .malformed("the stanza could not be opened")
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
