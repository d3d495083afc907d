#if canImport(Glibc)
import Glibc
#endif
import Age
import SSHSig

/// A key the agent holds, used through it: its stanzas go to the agent,
/// which answers with the file key or "not mine". The private key stays in
/// the agent; this side knows only the public key.
public struct AgentIdentity: KeyIdentity {
    public let recipient: X25519Recipient
    let client: AgentClient

    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        // No X25519 stanza, nothing the agent could open: no round trip.
        guard stanzas.contains(where: { $0.type == X25519Recipient.stanzaType }) else { return .notMine }
        return try client.unwrap([stanzas], with: recipient)[0]
    }
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

    /// The identity's keys, the one in use first.
    public var identities: [AgentIdentity] {
        publicKeys.recipients.map { AgentIdentity(recipient: $0, client: client) }
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
