import Foundation

/// Debian's OpenSSH server on 127.0.0.1 and a free port, for transfer
/// tests: its own ed25519 host key, its own authorized_keys (two client
/// keys: one only in an ssh-agent, one only in a file), and a known_hosts
/// file that lists it. Logs in as the user the tests run as (root in CI).
/// `stop()` (or deinit) ends sshd, its connection handlers and the agent.
public final class SSHServer {
    public let directory: String
    public let port: Int
    /// The user to log in as: the one running the tests.
    public let user: String
    /// known_hosts listing this server as `[127.0.0.1]:port`.
    public let knownHostsFile: String
    /// The host key's OpenSSH fingerprint, `SHA256:…`.
    public let hostKeyFingerprint: String
    /// An unencrypted client key (private key file) the server accepts.
    public let clientKeyFile: String
    /// The ssh-agent's socket; it holds another key the server accepts.
    public let agentSocket: String

    private let sshd: Daemon
    private let agent: Daemon

    /// Starts sshd and an ssh-agent in a new temporary directory.
    public init() throws {
        let sshdPath = try TestTools.require("sshd")
        let keygen = try TestTools.require("ssh-keygen")
        let agentPath = try TestTools.require("ssh-agent")
        let add = try TestTools.require("ssh-add")
        _ = try TestTools.require("git")  // git-upload-pack / git-receive-pack run on the server side
        let directory = try TestTools.temporaryDirectory("coffer-sshd")
        self.directory = directory
        user = TestTools.userName
        for key in ["host_ed25519", "client_file", "client_agent"] {
            try TestTools.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", "\(directory)/\(key)"])
        }
        let hostPublic = try String(contentsOfFile: "\(directory)/host_ed25519.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        hostKeyFingerprint = String(try TestTools.run([keygen, "-l", "-E", "sha256", "-f", "\(directory)/host_ed25519.pub"])
            .split(separator: " ")[1])
        let authorized = try ["client_file", "client_agent"].map {
            try String(contentsOfFile: "\(directory)/\($0).pub", encoding: .utf8)
        }.joined()
        try authorized.write(toFile: "\(directory)/authorized_keys", atomically: true, encoding: .utf8)
        clientKeyFile = "\(directory)/client_file"

        port = try Network.freePort()
        knownHostsFile = "\(directory)/known_hosts"
        try "[127.0.0.1]:\(port) \(hostPublic)\n".write(toFile: knownHostsFile, atomically: true, encoding: .utf8)
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_ed25519
            PidFile \(directory)/sshd.pid
            AuthorizedKeysFile \(directory)/authorized_keys
            StrictModes no
            UsePAM no
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            AllowUsers \(user)
            LogLevel VERBOSE

            """
        try config.write(toFile: "\(directory)/sshd_config", atomically: true, encoding: .utf8)
        // As root, sshd separates privileges into an empty directory it
        // insists exists (Debian's service creates it at boot).
        if getuid() == 0 { try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
        // sshd re-executes itself and so needs its absolute path.
        sshd = try Daemon("sshd", [sshdPath, "-D", "-e", "-f", "\(directory)/sshd_config"], logFile: "\(directory)/sshd.log")
        agentSocket = "\(directory)/agent.sock"
        agent = try Daemon("ssh-agent", [agentPath, "-D", "-a", agentSocket], logFile: "\(directory)/agent.log")
        do {
            try sshd.waitForPort(port)
            let deadline = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: agentSocket) {
                guard agent.isRunning, Date() < deadline else { throw ServerError("ssh-agent did not start: \(agent.log)") }
                usleep(10_000)
            }
            try TestTools.run([add, "-q", "\(directory)/client_agent"], environment: ["SSH_AUTH_SOCK": agentSocket])
            // Only the agent holds this key from now on.
            try FileManager.default.removeItem(atPath: "\(directory)/client_agent")
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// sshd's log, for failure messages.
    public var log: String { sshd.log }

    /// Stops sshd (with its connection handlers) and the agent, and removes the directory.
    public func stop() {
        sshd.stop()
        agent.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A bare repository under the server's directory, by absolute path.
    public func makeBareRepository(_ name: String, initialBranch: String? = nil) throws -> String {
        let path = "\(directory)/repos/\(name)"
        var argv = [try TestTools.require("git"), "init", "-q", "--bare"]
        if let initialBranch { argv += ["--initial-branch", initialBranch] }
        try TestTools.run(argv + [path])
        return path
    }

    /// `ssh://user@127.0.0.1:port/abs/path`.
    public func sshURL(_ path: String) -> String { "ssh://\(user)@127.0.0.1:\(port)\(path)" }

    /// The scp-like form that can carry a port: `[user@127.0.0.1:port]:/abs/path`.
    public func scpURL(_ path: String) -> String { "[\(user)@127.0.0.1:\(port)]:\(path)" }
}
