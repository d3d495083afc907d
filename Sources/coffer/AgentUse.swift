import Age
import CofferAgent
import CofferKit
import SSHSig

extension Unlocked {
    /// The agent found for each identity path (nil: none holds it), asked once per command.
    nonisolated(unsafe) static var agents = PerPath<AgentSession?>()
}

/// How every command uses `coffer agent`, in this one place: when an agent
/// runs on this user's socket and holds the identity in use, its keys stand
/// in for the identity file (no passphrase asked), and it signs. Otherwise
/// the command opens the file as it always did.
extension VaultSettings {
    /// The agent holding this command's identity, if any. A socket that
    /// cannot be trusted (a directory others can enter, not a socket, not
    /// ours) is an error; an agent that is gone, or refuses this process,
    /// is passed over.
    func agent() throws -> AgentSession? {
        let store = self.store
        if let known = Unlocked.agents[store.path] { return known }
        var session: AgentSession?
        do {
            session = try AgentSession.open(socket: VaultSettings.locator.agentSocketPath, identityPath: store.path)
        } catch AgentError.refused(let path) {
            Console.warning("the agent at \(TerminalText.escape(path)) refused this connection (it runs as another user); not using it")
        } catch AgentError.system, AgentError.gone {
            // Unreachable (a full backlog, a dying agent): as if none ran.
        }
        Unlocked.agents[store.path] = session
        return session
    }

    /// The agent's keys for this identity, or nil to open the file.
    func agentIdentities() throws -> [Identity]? {
        guard let agent = try agent() else { return nil }
        return agent.identities
    }

    /// Signs as the identity: through the agent when it holds it and its
    /// signing key, else with the signing key opened from the file here.
    /// Nil when there is no identity file at all.
    func identitySigner() throws -> IdentitySigner? {
        let store = self.store
        if let known = Unlocked.signers[store.path] { return known }
        guard store.exists else { return nil }
        let signer: IdentitySigner
        if let agent = try agent(), let key = agent.publicKeys.signingKey {
            signer = IdentitySigner(publicKey: key) { try agent.sign($0, namespace: $1) }
        } else {
            let key = try store.signingKey(identities: try fileIdentities())
            signer = IdentitySigner(publicKey: key.publicKey) { try key.sign($0, namespace: $1) }
        }
        Unlocked.signers[store.path] = signer
        return signer
    }
}

/// The identity's SSH signing key, wherever it is held: its public half,
/// and a way to sign with it for a namespace.
struct IdentitySigner {
    let publicKey: SSHEd25519PublicKey
    let sign: (_ message: [UInt8], _ namespace: String) throws -> String
}
