#if canImport(Glibc)
import Glibc
#endif
import Age
import AgeSSH
import SSHSig

/// A key the agent holds, used through it: its stanzas go to the agent,
/// which answers with the file key or "not mine". The private key stays in
/// the agent; this side knows only the public key, and says which reader it
/// is the way a key opened here does (`KeyIdentity`, `SSHKeyIdentity`).
public protocol AgentIdentity: Identity {
    var key: AgentKey { get }
    var client: AgentClient { get }
}

extension AgentIdentity {
    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        // No stanza of the key's kind, nothing the agent could open: no round trip.
        guard stanzas.contains(where: { $0.type == key.stanzaType }) else { return .notMine }
        return try client.unwrap([stanzas], with: key)[0]
    }
}

/// An X25519 key the agent holds.
public struct AgentX25519Identity: AgentIdentity, KeyIdentity {
    public let recipient: X25519Recipient
    public let client: AgentClient
    public var key: AgentKey { .x25519(recipient) }
}

/// An SSH Ed25519 key the agent holds.
public struct AgentSSHIdentity: AgentIdentity, SSHKeyIdentity {
    public let recipient: SSHEd25519Recipient
    public let client: AgentClient
    public var key: AgentKey { .sshEd25519(recipient) }
}

/// An agent that holds a given identity file's keys: those keys as
/// identities, and its signing key for commits and bundles.
public struct AgentSession: Sendable {
    public let client: AgentClient
    public let status: AgentStatus
    public let publicKeys: AgentPublicKeys

    /// The agent at `socket`, if one runs there and unlocked the file at
    /// `identityPath`; nil when none runs there or it holds another
    /// identity. An untrustworthy socket, or an agent that refuses this
    /// process, throws (`AgentError`).
    public static func open(socket: String, identityPath: String) throws -> AgentSession? {
        guard let client = try AgentClient.connect(to: socket) else { return nil }
        let (status, keys) = try client.statusAndKeys()
        guard status.identityPath == canonicalPath(identityPath) else { return nil }
        return AgentSession(client: client, status: status, publicKeys: keys)
    }

    /// The identity's keys, the one in use first, each of its own kind.
    public var identities: [any AgentIdentity] {
        publicKeys.readers.map { key -> any AgentIdentity in
            switch key {
            case .x25519(let recipient): return AgentX25519Identity(recipient: recipient, client: client)
            case .sshEd25519(let recipient): return AgentSSHIdentity(recipient: recipient, client: client)
            }
        }
    }

    /// `message` signed for `namespace` by the identity's signing key.
    public func sign(_ message: [UInt8], namespace: String) throws -> String {
        try client.sign(message, namespace: namespace)
    }

    /// `path` with links resolved, as an agent names the file it unlocked;
    /// `path` itself when it cannot be resolved.
    public static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
