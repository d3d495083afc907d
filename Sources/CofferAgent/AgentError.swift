#if canImport(Glibc)
import Glibc
#endif

/// What goes wrong between a client, the agent and its socket. Cases carry
/// paths, uids, modes, pids and errno — never key bytes or messages signed.
public enum AgentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The socket's directory is not a directory of this user that no one
    /// else can enter (others could swap the socket, or listen in its place).
    case directoryNotPrivate(path: String, owner: UInt32, mode: UInt32)
    /// At the socket's path: something other than a socket, or a socket of another user.
    case notASocket(path: String)
    case socketNotOwned(path: String, owner: UInt32)
    /// Longer than `sockaddr_un` holds (107 bytes).
    case pathTooLong(path: String)
    case system(call: String, path: String, errno: Int32)
    /// The agent closed the connection without answering: it serves only its own user.
    case refused(path: String)
    /// The agent closed a connection it had answered on: it stopped meanwhile.
    case gone(path: String)
    /// The agent answered that it will not do this (a namespace, a limit).
    case declined(String)
    case protocolViolation(String)
    case unsupportedVersion(UInt8)
    /// `coffer agent` while one already serves the socket.
    case alreadyRunning(path: String, pid: Int32)
    case notRunning(path: String)
    /// An identity of a kind the agent does not hold (by its type's name).
    case cannotHold(kind: String)

    public var description: String {
        switch self {
        case .directoryNotPrivate(let path, let owner, let mode):
            let whose = owner == getuid() ? "" : " owned by uid \(owner), not you (\(getuid())),"
            return "the agent's socket directory \(path) is\(whose) mode \(String(mode & 0o7777, radix: 8)): "
                + "not a private directory of yours, so the agent's socket there cannot be trusted"
        case .notASocket(let path): return "\(path) is not a socket; refusing to use it as the agent's"
        case .socketNotOwned(let path, let owner): return "the agent socket \(path) belongs to uid \(owner), not you (\(getuid())); refusing to use it"
        case .pathTooLong(let path): return "the agent socket path \(path) is too long for a Unix socket (107 bytes at most)"
        case .system(let call, let path, let code): return "\(call) \(path): \(String(cString: strerror(code)))"
        case .refused(let path): return "the agent at \(path) refused this connection (it serves only the user it runs as)"
        case .gone(let path): return "the agent at \(path) stopped while this command used it"
        case .declined(let reason): return "the agent refused: \(reason)"
        case .protocolViolation(let why): return "the agent's answer is malformed: \(why)"
        case .unsupportedVersion(let version): return "the agent speaks protocol version \(version); this coffer speaks \(AgentProtocol.version)"
        case .alreadyRunning(let path, let pid): return "an agent is already running (pid \(pid)) on \(path)"
        case .notRunning(let path): return "no agent is running on \(path)"
        case .cannotHold(let kind): return "the agent holds X25519 and SSH Ed25519 keys only, not a \(kind)"
        }
    }
}
