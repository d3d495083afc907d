import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Unix sockets from the test's side, below the agent's own client code:
/// a raw connection shows what the agent does with a peer it refuses.
enum UnixSocket {
    static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        let ok = withAddress(path) { Glibc.connect(fd, $0, $1) } == 0
        if !ok { close(fd) }
        return ok ? fd : nil
    }

    static func listen(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard withAddress(path, { bind(fd, $0, $1) }) == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Everything `fd` sends until it closes (or resets) the connection, or `seconds` pass.
    static func readAll(_ fd: Int32, seconds: Int = 5) -> Data {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    private static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// A man in the middle the test controls: listens at `path`, relays each
/// connection to the agent at `upstream`, and records every byte both ways.
final class RecordingProxy: @unchecked Sendable {
    let path: String
    private let upstream: String
    private let listener: Int32
    private let lock = NSLock()
    private var bytes = Data()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, upstream: String) throws {
        self.path = path
        self.upstream = upstream
        guard let fd = UnixSocket.listen(path) else { throw TestSetupError("cannot listen at \(path): errno \(errno)") }
        listener = fd
        Thread.detachNewThread { [self] in
            serve()
            finished.signal()
        }
    }

    /// What passed through, both directions.
    var recording: Data { lock.withLock { bytes } }

    func stop() {
        lock.withLock { stopping = true }
        finished.wait()
        close(listener)
        unlink(path)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func serve() {
        while !isStopping {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            if let agent = UnixSocket.connect(upstream) {
                relay(client, agent)
                close(agent)
            }
            close(client)
        }
    }

    private func relay(_ a: Int32, _ b: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !isStopping {
            var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 100) >= 0 else { return }
            for (from, to) in [(0, b), (1, a)] where fds[from].revents != 0 {
                let n = recv(fds[from].fd, &buffer, buffer.count, 0)
                guard n > 0 else { return }
                lock.withLock { bytes += buffer[0..<n] }
                guard UnixSocket.send(to, Array(buffer[0..<n])) else { return }
            }
        }
    }
}

/// A secret in the forms it could be written in: raw bytes, hex, base64.
struct SecretForms {
    private(set) var forms: [(name: String, bytes: Data)] = []

    mutating func add(_ name: String, raw: [UInt8]) {
        forms.append((name + " (raw)", Data(raw)))
        let hex = raw.map { String(format: "%02x", $0) }.joined()
        forms.append((name + " (hex)", Data(hex.utf8)))
        forms.append((name + " (HEX)", Data(hex.uppercased().utf8)))
        let base64 = Data(raw).base64EncodedString()
        let unpadded = base64.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        forms.append((name + " (base64)", Data(base64.utf8)))
        forms.append((name + " (base64, unpadded)", Data(unpadded.utf8)))
        let url = unpadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        forms.append((name + " (base64url)", Data(url.utf8)))
    }

    mutating func add(_ name: String, text: String) {
        forms.append((name, Data(text.utf8)))
        forms.append((name + " (lowercase)", Data(text.lowercased().utf8)))
        forms.append((name + " (uppercase)", Data(text.uppercased().utf8)))
    }

    /// The names of the forms `data` contains.
    func found(in data: Data) -> [String] {
        forms.filter { data.range(of: $0.bytes) != nil }.map(\.name)
    }
}

/// Regular files below `roots` (links not followed) changed since `since`,
/// each read whole: where a key written since then would be.
func filesChanged(under roots: [String], since: Date, maxSize: Int = 64 << 20) -> [(path: String, data: Data)] {
    var out: [(String, Data)] = []
    var seen = Set<String>()
    for root in roots {
        guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
        while let relative = walker.nextObject() as? String {
            let full = root + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= maxSize,
                  !seen.contains(full) else { continue }
            let changed = max(Double(info.st_mtim.tv_sec), Double(info.st_ctim.tv_sec))
            guard changed >= since.timeIntervalSince1970.rounded(.down) else { continue }
            seen.insert(full)
            if let data = FileManager.default.contents(atPath: full) { out.append((full, data)) }
        }
    }
    return out
}

/// Whether `pid` is a live process (a zombie, waiting for a parent that
/// does not reap it, counts as gone).
func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
    return state != "Z" && state != "X"
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}
