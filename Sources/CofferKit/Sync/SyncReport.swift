import Age
import GitStore

/// What `coffer sync` did: what came in (the integration) and what went out.
public struct SyncReport: Sendable {
    public let remote: String
    public let branch: String
    public internal(set) var integration = Integration(kind: .upToDate)
    /// Ids the push sent that the remote did not have, and other paths.
    public internal(set) var outgoing: [SecretID] = []
    public internal(set) var outgoingFiles: [String] = []
    /// The commit pushed (hex); nil when nothing was pushed.
    public internal(set) var pushed: String?
    /// True when this sync made the remote branch this branch's upstream.
    public internal(set) var upstreamSet = false
    /// How many times the remote moved on between fetch and push.
    public internal(set) var retries = 0
}

extension SyncReport {
    /// Fetch, merge and push rounds before giving up on a remote that keeps moving.
    static let attempts = 3
}
