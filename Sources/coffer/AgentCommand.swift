#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferAgent
import CofferKit
import Posix

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Keep your identity unlocked for a while, so its passphrase is typed once per session.",
        discussion: """
            Unlocks the identity (asking for its passphrase once) and serves other coffer commands \
            over a socket: $COFFER_AGENT_SOCK, else $XDG_RUNTIME_DIR/coffer/agent.sock, else \
            /tmp/coffer-UID/agent.sock, in a directory only you can enter, for your user only. \
            It opens sealed files' keys and signs commits and bundles; it never hands out a private key. \
            After --ttl without a request it wipes its keys and exits, and commands ask again. \
            Prints an `export COFFER_AGENT_SOCK=…` line: `eval "$(coffer agent)"`.
            """
    )

    @Option(help: ArgumentHelp("Wipe the keys and exit after this long without a request: 90s, 15m, 2h (default 15m).",
                               valueName: "DURATION"))
    var ttl: AgentTTL = .fifteenMinutes

    @Flag(help: "Serve in the foreground, logging refused connections to stderr, instead of in the background.")
    var foreground = false

    @Flag(help: "Show whether an agent is running: its pid, idle time left and public keys (exit 1 when none is).")
    var status = false

    @Flag(help: "Stop the running agent, which wipes its keys.")
    var stop = false

    /// The background server `coffer agent` starts: reports on stdout once it listens, then detaches.
    @Flag(help: .private)
    var detached = false

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if status && stop { throw ValidationError("--status and --stop exclude each other") }
        if (status || stop) && (foreground || ttl != .fifteenMinutes) {
            throw ValidationError("--\(status ? "status" : "stop") takes no --ttl or --foreground")
        }
    }

    func run() throws {
        try Console.run {
            let socket = VaultSettings.locator.agentSocketPath
            if status { return try showStatus(socket) }
            if stop { return try stopAgent(socket) }
            try AgentServer.preflight(path: socket)
            if foreground || detached { return try serve(socket) }
            try startInBackground(socket)
        }
    }

    /// Unlocks the identity, then serves until the TTL, a signal or `--stop`.
    private func serve(_ socket: String) throws {
        let store = options.store
        let keys = try unlock(store)
        let server = try AgentServer(path: socket, keys: keys, ttl: Double(ttl.seconds)) { Console.info("coffer: agent: \($0)") }
        let export = "export COFFER_AGENT_SOCK=\(Self.shellQuoted(socket))\n"
        if detached {
            AgentDaemon.detach(reporting: export)
        } else {
            Console.info("coffer: agent (pid \(getpid())) holds \(TerminalText.escape(store.path)) on \(TerminalText.escape(socket)); "
                         + "it exits after \(ttl) without a request")
            print(export, terminator: "")
            fflush(nil)
        }
        let ending = server.run()
        guard !detached else { return }
        switch ending {
        case .idle: Console.info("coffer: agent: \(ttl) without a request; keys wiped")
        case .stopped: Console.info("coffer: agent: stopped; keys wiped")
        case .signal(let number): Console.info("coffer: agent: signal \(number); keys wiped")
        }
    }

    /// The identity's keys (coffer's X25519 keys, or an SSH key) and its
    /// signing key (an SSH identity's own), held by `AgentKeys` alone (not
    /// cached in `Unlocked`), so that its `wipe()` releases the last copy.
    /// A file with plugin keys is refused: commands must still reach the
    /// plugin with them, which the agent never hands out.
    private func unlock(_ store: IdentityStore) throws -> AgentKeys {
        let source = options.passphrase.source
        let identities = try store.unlock { try source.read(prompt: "Passphrase for identity \(store.path): ") }
        if let plugin = identities.lazy.compactMap({ $0 as? PluginReaderIdentity }).first {
            throw CommandFailure("\(TerminalText.escape(store.path)) holds age plugin keys (plugin \(plugin.identity.name)), which need no agent: "
                                 + "their plugin asks for its PIN or touch once per operation; the agent holds coffer's own keys and SSH keys only",
                                 hint: "use this identity without `coffer agent`, or keep coffer's own keys in an identity file of their own for the agent")
        }
        return try AgentKeys(identityPath: AgentSession.canonicalPath(store.path), identities: identities,
                             signingKey: try store.signingKey(identities: identities),
                             namespaces: [CommitSigner.namespace, BundleSigner.namespace])
    }

    /// Starts this program again to serve in the background, and returns once it listens.
    private func startInBackground(_ socket: String) throws {
        let settings = options.settings
        var argv = [AgentDaemon.executable, "agent", "--detached", "--ttl", String(ttl.seconds), "--identity", settings.store.path]
        var input: SecureBytes?
        // The server may not be able to open the file (`/dev/fd/3`): it gets the line on its stdin.
        if settings.passphraseFile != nil, settings.store.exists {
            let line = try PassphraseSource(file: settings.passphraseFile).read(prompt: "")
            input = SecureBytes(count: line.count + 1)
            input!.withUnsafeMutableBytes { out in
                line.withUnsafeBytes { out.copyMemory(from: $0) }
                out[line.count] = 0x0A
            }
            argv += ["--passphrase-file", "/dev/stdin"]
        }
        switch try AgentDaemon.start(argv, input: input) {
        case .serving(let pid, let line):
            Console.info("coffer: agent (pid \(pid)) holds \(TerminalText.escape(settings.store.path)) on \(TerminalText.escape(socket)); "
                         + "it exits after \(ttl) without a request")
            print(line, terminator: "")
        case .failed(let status):
            throw ExitCode(status > 0 ? status : 1)
        }
    }

    private func showStatus(_ socket: String) throws {
        guard let client = try AgentClient.connect(to: socket) else { throw AgentError.notRunning(path: socket) }
        let status = try client.status()
        let keys = try client.publicKeys()
        print("pid: \(status.pid)")
        print("socket: \(TerminalText.escape(socket))")
        print("identity: \(TerminalText.escape(status.identityPath))")
        print("idle timeout: \(AgentTTL(seconds: Int(status.ttlSeconds))), \(AgentTTL(seconds: Int(status.secondsLeft))) left")
        for key in keys.readers { print("key: \(key.encoded)") }
        if let signing = keys.signingKey { print("signing key: \(signing.fingerprint)") }
    }

    private func stopAgent(_ socket: String) throws {
        guard let client = try AgentClient.connect(to: socket) else { throw AgentError.notRunning(path: socket) }
        let pid = try client.status().pid
        try client.stop()
        // Gone once its socket is: a command right after this one asks for the passphrase again.
        let deadline = Monotonic.seconds() + 5
        while Files.exists(socket), Monotonic.seconds() < deadline { usleep(10_000) }
        Console.info("coffer: stopped the agent (pid \(pid)); its keys are wiped")
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// How long an idle agent keeps its keys: whole seconds, typed as `90`,
/// `90s`, `15m` or `2h`; one second to a day.
struct AgentTTL: ExpressibleByArgument, Equatable, CustomStringConvertible {
    let seconds: Int
    static let fifteenMinutes = AgentTTL(seconds: 900)

    init(seconds: Int) { self.seconds = seconds }

    init?(argument: String) {
        guard let seconds = DurationArgument.seconds(argument, atMost: 86_400) else { return nil }
        self.seconds = seconds
    }

    var description: String {
        if seconds == 0 { return "0s" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}
