#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The agent's one thread: a poll loop over its listening socket, its
/// connections and a signal pipe. A connection from another uid (by
/// `SO_PEERCRED`, which the peer cannot forge) is closed unanswered. Each
/// request that uses a key restarts the idle timer; when it runs out, on
/// SIGTERM, SIGINT or SIGHUP, or on a `stop` request, the keys are wiped
/// and the socket removed before the loop returns.
public final class AgentServer {
    /// Why `run()` returned.
    public enum Ending: Equatable, Sendable {
        case idle, stopped, signal(Int32)
    }

    public let path: String
    private let keys: AgentKeys
    private let ttl: Double
    private let log: (String) -> Void
    private let listener: Int32
    private let inode: ino_t
    private var connections: [Int32: Connection] = [:]
    private var deadline: Double
    /// A same-uid client may open connections, but not without bound.
    private static let maxConnections = 64

    /// Binds `path` (see `AgentSocket.listen`); refuses to start beside a
    /// running agent. `log` gets one line per refused connection.
    public init(path: String, keys: AgentKeys, ttl: Double, log: @escaping (String) -> Void) throws {
        (listener, inode) = try AgentSocket.listen(at: path, probe: AgentServer.pid(of:))
        self.path = path
        self.keys = keys
        self.ttl = ttl
        self.log = log
        deadline = Monotonic.seconds() + ttl
    }

    /// Refuses early, before a passphrase is asked, what `init` would
    /// refuse: a socket directory others can enter, or an agent already there.
    public static func preflight(path: String) throws {
        if Files.exists(AgentSocket.parent(of: path)) { try AgentSocket.checkDirectory(of: path) }
        if let fd = try AgentSocket.connect(to: path) {
            defer { close(fd) }
            throw AgentError.alreadyRunning(path: path, pid: pid(of: fd) ?? 0)
        }
    }

    /// The pid the agent on `fd` gives in its status.
    private static func pid(of fd: Int32) -> Int32? {
        setTimeouts(fd, seconds: 2)
        guard FrameIO.send(AgentRequest.hello.frame(), on: fd), let body = try? FrameIO.receive(on: fd),
              case .status(let status)? = try? decodeResponse(body) else { return nil }
        return status.pid
    }

    /// Serves until the idle TTL passes, a signal, or `stop`; then wipes the keys and removes the socket.
    public func run() -> Ending {
        let signals = SignalPipe.install([SIGTERM, SIGINT, SIGHUP])
        defer { shutDown() }
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            fds += connections.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let left = deadline - Monotonic.seconds()
            if left <= 0 { return .idle }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left, 3600) * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { return .stopped }
            if fds[1].revents != 0 { return .signal(SignalPipe.take()) }
            if fds[0].revents != 0 { accept() }
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                if serve(entry.fd) == .stopped { return .stopped }
            }
        }
    }

    private func accept() {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard let peer = AgentSocket.peer(of: fd), peer.uid == geteuid() else {
            let who = AgentSocket.peer(of: fd).map { "uid \($0.uid) (pid \($0.pid))" } ?? "an unknown peer"
            log("refused a connection from \(who): this agent serves only uid \(geteuid())")
            close(fd)
            return
        }
        guard connections.count < AgentServer.maxConnections else {
            log("refused a connection: \(AgentServer.maxConnections) are open")
            close(fd)
            return
        }
        AgentServer.setTimeouts(fd, seconds: 5)
        connections[fd] = Connection()
    }

    private enum Outcome { case open, closed, stopped }

    /// Reads what `fd` has; answers each whole frame.
    private func serve(_ fd: Int32) -> Outcome {
        guard var connection = connections[fd] else { return .closed }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return .open }
        guard n > 0 else { return drop(fd) }
        connection.take(chunk[0..<n])
        while let body = connection.nextFrame() {
            let request: AgentRequest
            let response: AgentResponse
            do {
                request = try AgentServer.decodeRequest(body)
                response = answer(request)
            } catch let error as AgentError {
                _ = FrameIO.send(AgentResponse.refused(String(describing: error)).frame(), on: fd)
                return drop(fd)
            } catch {
                return drop(fd)
            }
            if request.usesKey { deadline = Monotonic.seconds() + ttl }
            guard FrameIO.send(response.frame(), on: fd) else { return drop(fd) }
            if case .stop = request { return .stopped }
        }
        guard !connection.isBroken else { return drop(fd) }
        connections[fd] = connection
        return .open
    }

    private func answer(_ request: AgentRequest) -> AgentResponse {
        switch request {
        case .hello:
            let left = max(0, deadline - Monotonic.seconds())
            return .status(AgentStatus(pid: getpid(), identityPath: keys.identityPath, ttlSeconds: UInt32(ttl.rounded()),
                                       secondsLeft: UInt32(left.rounded(.up))))
        case .publicKeys: return .keys(keys.publicKeys)
        case .unwrap(let key, let headers): return keys.unwrap(headers, key: key)
        case .sign(let namespace, let message): return keys.sign(message, namespace: namespace)
        case .stop: return .stopping
        }
    }

    private func drop(_ fd: Int32) -> Outcome {
        connections[fd] = nil
        close(fd)
        return .closed
    }

    private func shutDown() {
        keys.wipe()
        for fd in connections.keys { close(fd) }
        connections = [:]
        // Only our own socket: a file put there since (by hand) stays.
        var info = stat()
        if lstat(path, &info) == 0, info.st_ino == inode { unlink(path) }
        close(listener)
    }

    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    static func decodeRequest(_ body: SecureBytes) throws -> AgentRequest {
        let (kind, _) = try FrameIO.open(body)
        return try body.withUnsafeBytes { bytes in
            var fields = FrameReader(UnsafeRawBufferPointer(rebasing: bytes[2...]))
            return try AgentRequest.decode(kind: kind, &fields)
        }
    }

    static func decodeResponse(_ body: SecureBytes) throws -> AgentResponse {
        let (kind, _) = try FrameIO.open(body)
        return try body.withUnsafeBytes { bytes in
            var fields = FrameReader(UnsafeRawBufferPointer(rebasing: bytes[2...]))
            return try AgentResponse.decode(kind: kind, &fields)
        }
    }
}

/// Bytes received on one connection, cut into frames. Requests hold only
/// public bytes (stanzas, a message to sign), so plain arrays do.
private struct Connection {
    private var pending: [UInt8] = []
    /// Set when a frame announces more than the limit: the connection is closed.
    private(set) var isBroken = false

    mutating func take(_ bytes: ArraySlice<UInt8>) { pending += bytes }

    mutating func nextFrame() -> SecureBytes? {
        guard pending.count >= 4 else { return nil }
        let length = pending[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length >= 2, length <= AgentProtocol.maxFrame + 4096 else {
            isBroken = true
            return nil
        }
        guard pending.count >= 4 + length else { return nil }
        let body = SecureBytes(copying: pending[4..<(4 + length)])
        pending.removeFirst(4 + length)
        return body
    }
}

/// Signals turned into a byte on a pipe, which the poll loop watches: the
/// handler does one async-signal-safe write and nothing else.
enum SignalPipe {
    nonisolated(unsafe) private static var fds: [Int32] = [-1, -1]
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    /// The pipe's read end.
    static func install(_ signals: [Int32]) -> Int32 {
        if writeEnd < 0 {
            _ = pipe(&fds)
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
            writeEnd = fds[1]
        }
        for signal in signals {
            _ = Glibc.signal(signal) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(SignalPipe.writeEnd, &byte, 1)
            }
        }
        return fds[0]
    }

    /// The signal that arrived.
    static func take() -> Int32 {
        var byte: UInt8 = 0
        return Glibc.read(fds[0], &byte, 1) == 1 ? Int32(byte) : 0
    }
}
