import Age
import CofferKit
import SSHSig

/// What this command unlocked, kept for the rest of it: a protected
/// identity asks for its passphrase once per command, whether the command
/// reads secrets, signs its commit, or both.
enum Unlocked {
    // One command per process, run on the main thread: nothing else reads
    // or writes these, so they need no lock.
    nonisolated(unsafe) static var identities = PerPath<[Identity]>()
    nonisolated(unsafe) static var signers = PerPath<IdentitySigner>()
}

/// Values kept per identity path for one command, which uses one or two.
/// Not a dictionary: `[String: …]` has the runtime look up String's
/// Hashable conformance, about 0.3 M instructions of every `get`.
struct PerPath<Value> {
    private struct Entry {
        let path: String
        let value: Value
    }

    private var entries: [Entry] = []

    subscript(path: String) -> Value? {
        get { entries.first { $0.path == path }?.value }
        set {
            entries.removeAll { $0.path == path }
            if let newValue { entries.append(Entry(path: path, value: newValue)) }
        }
    }
}

extension VaultSettings {
    /// Signs each commit with the identity's signing key (through the agent
    /// when one holds it: `identitySigner()`), opened before the
    /// first write takes the vault's lock (created then if the identity has
    /// none yet) and kept for the rest of the command. A wrong or missing
    /// passphrase fails the write before any of its work. With no identity file at all (a box that
    /// only seals, to public keys) the commit is made unsigned and a
    /// warning says so — the interim rule until the chain of trust lands.
    func commitSigner() -> CommitSigner {
        let settings = self
        let store = self.store
        var warned = false
        return CommitSigner(signer: "the identity \(store.path)", prepare: { _ = try settings.identitySigner() }) { commit in
            guard let signer = try settings.identitySigner() else {
                if !warned {
                    warned = true
                    Console.warning("this commit is unsigned: there is no identity at \(TerminalText.escape(store.path)) to sign it with")
                }
                return nil
            }
            return try signer.sign(commit, CommitSigner.namespace)
        }
    }
}
