#if canImport(Glibc)
import Glibc
#endif
import Age
import SSHSig
import Synchronization

/// One connection to a running agent, shared by the threads of a process
/// (a verify decrypts in parallel): requests take turns on it. File keys
/// arrive into wiped buffers.
public final class AgentClient: Sendable {
    public let path: String
    private let connection: Mutex<Connection>

    private struct Connection {
        let fd: Int32
        /// Whether the agent has answered here: a close before that is its refusal of this uid.
        var answered = false
    }

    /// Connects to the agent at `path`; nil when none runs there (see
    /// `AgentSocket.connect`: an untrustworthy socket or directory throws).
    public static func connect(to path: String) throws -> AgentClient? {
        guard let fd = try AgentSocket.connect(to: path) else { return nil }
        // Long enough for a batch; a hung agent fails the command rather than hanging it.
        AgentServer.setTimeouts(fd, seconds: 30)
        return AgentClient(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        connection = Mutex(Connection(fd: fd))
    }

    deinit {
        _ = connection.withLock { close($0.fd) }
    }

    public func status() throws -> AgentStatus {
        guard case .status(let status) = try ask(.hello) else { throw AgentError.protocolViolation("no status in the answer to hello") }
        return status
    }

    public func publicKeys() throws -> AgentPublicKeys {
        guard case .keys(let keys) = try ask(.publicKeys) else { throw AgentError.protocolViolation("no keys in the answer") }
        return keys
    }

    /// `status()` and `publicKeys()` in one round trip: both requests are
    /// sent before either answer is read (every command that uses the agent
    /// asks both first).
    public func statusAndKeys() throws -> (AgentStatus, AgentPublicKeys) {
        let answers = try ask([.hello, .publicKeys])
        guard case .status(let status) = answers[0], case .keys(let keys) = answers[1] else {
            throw AgentError.protocolViolation("no status and keys in the answers")
        }
        return (status, keys)
    }

    /// For each header (one age file's stanzas), its file key if `key` (nil:
    /// any key the agent holds) opens it. A malformed stanza of the key's own
    /// type throws, as the key itself would.
    public func unwrap(_ headers: [[Stanza]], with key: AgentKey?) throws -> [UnwrapResult] {
        guard !headers.isEmpty else { return [] }
        var results: [UnwrapResult] = []
        // Batches stay under the protocol's bound on headers per request.
        for start in stride(from: 0, to: headers.count, by: AgentProtocol.maxHeaders) {
            let batch = Array(headers[start..<min(start + AgentProtocol.maxHeaders, headers.count)])
            guard case .unwrapped(let answers) = try ask(.unwrap(key: key, headers: batch)), answers.count == batch.count else {
                throw AgentError.protocolViolation("not one result per header")
            }
            for answer in answers {
                switch answer {
                case .fileKey(let fileKey): results.append(.fileKey(fileKey))
                case .notMine: results.append(.notMine)
                case .malformed(let type, let reason): throw AgeError.invalidStanza(type: type, reason: reason)
                }
            }
        }
        return results
    }

    /// `message` signed for `namespace` (SSHSIG, armored) by the identity's signing key.
    public func sign(_ message: [UInt8], namespace: String) throws -> String {
        guard case .signature(let armored) = try ask(.sign(namespace: namespace, message: message)) else {
            throw AgentError.protocolViolation("no signature in the answer")
        }
        return armored
    }

    /// Has the agent wipe its keys, remove its socket and exit.
    public func stop() throws {
        guard case .stopping = try ask(.stop) else { throw AgentError.protocolViolation("the agent did not confirm it stops") }
    }

    private func ask(_ request: AgentRequest) throws -> AgentResponse {
        try ask([request])[0]
    }

    /// Sends `requests` back to back, then reads one answer for each.
    private func ask(_ requests: [AgentRequest]) throws -> [AgentResponse] {
        let responses: [AgentResponse] = try connection.withLock { connection in
            let closed = connection.answered ? AgentError.gone(path: path) : AgentError.refused(path: path)
            for request in requests {
                guard FrameIO.send(request.frame(), on: connection.fd) else {
                    if errno == EPIPE || errno == ECONNRESET { throw closed }
                    throw AgentError.system(call: "send", path: path, errno: errno)
                }
            }
            var answers: [AgentResponse] = []
            for _ in requests {
                guard let body = try FrameIO.receive(on: connection.fd) else { throw closed }
                connection.answered = true
                answers.append(try AgentServer.decodeResponse(body))
            }
            return answers
        }
        for case .refused(let reason) in responses { throw AgentError.declined(reason) }
        return responses
    }
}
