#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CofferKit
import CofferLocator
import CrashPosture
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Posix

/// `coffer serve`: one vault over HTTP, as SPEC section 6 lists it, to the
/// bearer tokens `coffer token create` made on this host. coffer runs this
/// program, installed beside it, with the arguments it was given.
@main
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coffer serve",
        abstract: "Serve the vault's secrets over HTTP to this host's tokens (masked by default).",
        discussion: """
            Clients send a token made by `coffer token create` (Authorization: Bearer cft_…); \
            it reaches only its --scope prefixes, with its rights. The API: GET /v1/secrets?prefix=P, \
            GET|PUT|DELETE /v1/secrets/ID, GET /v1/secrets/ID?reveal=true, POST /v1/reveal-links/ID, \
            GET /v1/reveal/LINK, GET /v1/history/ID; the OpenAPI document is served at /v1/openapi.yaml \
            (docs/CLI.md "coffer serve").

            Listens on 127.0.0.1:\(ServeCommand.defaultPort) unless told otherwise and says so on standard error \
            (`coffer serve: listening on http://HOST:PORT for VAULT`, or `unix:PATH`); stops on SIGTERM or SIGINT. \
            TLS is not offered: put a reverse proxy in front for anything beyond this host. \
            The identity must open without a prompt: the agent's, an unprotected deploy key, or --passphrase-file.
            """
    )

    static let defaultPort = 7391

    /// ArgumentParser's own main, after the crash posture: the server holds
    /// the identity and, while it answers a reveal, values: no core, no dump.
    static func main() async {
        CrashPosture.harden()
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch {
            // In coffer's words (`coffer: error:`, `coffer: hint:`), as every other command.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            ServerLog.error(message(for: error), hint: "see coffer serve --help")
            Glibc.exit(code.rawValue)
        }
    }

    @Option(name: .customLong("listen"), help: ArgumentHelp("Address and port (default 127.0.0.1:\(defaultPort); port 0 picks one). "
                                                            + "Loopback is 127.0.0.1, [::1] or localhost; any other needs --allow-remote.",
                                                            valueName: "HOST:PORT"))
    var listen: String?

    @Option(name: .customLong("socket"), help: ArgumentHelp("Listen on a Unix socket instead (made 0600).", valueName: "PATH"))
    var socket: String?

    @Flag(name: .customLong("read-only"), help: "Refuse every write (PUT and DELETE answer 403).")
    var readOnly = false

    @Flag(name: .customLong("allow-remote"), help: "Allow an address other than loopback (put TLS in front of it).")
    var allowRemote = false

    @Option(name: .customLong("rate"), help: ArgumentHelp("Requests per second per token, default 100 (bursts of twice as many; "
                                                          + "over it: 429 with Retry-After).", valueName: "N"))
    var rate: Double?

    @Option(name: .customLong("write-rate"), help: ArgumentHelp("Writes per second per token, default 5 (bursts of twice as many).",
                                                                valueName: "N"))
    var writeRate: Double?

    @Option(name: .customLong("link-seconds"), help: ArgumentHelp("How long a one-time reveal link stays valid, 1 to 3600 (default 60).",
                                                                  valueName: "SECONDS"))
    var linkSeconds: Int?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("error, warning, info or debug (no level logs a value).", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Option(name: .customLong("vault"), help: ArgumentHelp("The vault directory (default: $COFFER_VAULT, else the enclosing vault).",
                                                           valueName: "DIR"))
    var vaultPath: String?

    @Option(name: .customLong("identity"), help: ArgumentHelp("Identity file (default: $COFFER_IDENTITY, else ~/.config/coffer/identity).",
                                                              valueName: "FILE"))
    var identityPath: String?

    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp("Read the identity's passphrase from this file.", valueName: "FILE"))
    var passphraseFile: String?

    func validate() throws {
        if listen != nil && socket != nil { throw ValidationError("--listen and --socket exclude each other") }
        if socket != nil && allowRemote { throw ValidationError("--allow-remote goes with --listen, not --socket") }
        for value in [rate, writeRate].compactMap({ $0 }) where !(value > 0 && value.isFinite) {
            throw ValidationError("--rate and --write-rate take a number of requests per second above 0")
        }
        if let linkSeconds, !(1...3600).contains(linkSeconds) { throw ValidationError("--link-seconds takes 1 to 3600") }
        guard ["error", "warning", "info", "debug"].contains(logLevel) else {
            throw ValidationError("--log-level takes error, warning, info or debug")
        }
        if let listen { _ = try ListenAddress(listen, allowRemote: allowRemote) }
    }

    func run() async throws {
        let log = ServerLog(level: Logger.Level(rawValue: logLevel) ?? .info)
        let address: BindAddress
        if let socket {
            // SwiftNIO replaces a socket file in the way; a live one is another server's.
            if UnixSocketAddress.isListening(socket) {
                ServerLog.error("a server is already listening on \(socket)", hint: "stop it, or pick another --socket PATH")
                throw ExitCode(1)
            }
            address = .unixDomainSocket(path: socket)
        } else {
            let listen = try ListenAddress(self.listen ?? "127.0.0.1:\(ServeCommand.defaultPort)", allowRemote: allowRemote)
            address = .hostname(listen.host, port: listen.port)
        }
        let service: VaultService
        do {
            let access = try ServeAccess(vaultPath: vaultPath, identityPath: identityPath, passphraseFile: passphraseFile)
            service = try VaultService(access: access, readOnly: readOnly, log: log)
        } catch {
            ServerLog.error(ServeProblem.message(for: error), hint: ServeFailure.hint(for: error))
            throw ExitCode(1)
        }
        let api = API(service: service, limits: RateLimits(requestsPerSecond: rate ?? 100, writesPerSecond: writeRate ?? 5),
                      links: RevealLinks(lifetime: linkSeconds ?? 60), log: log)
        // Sockets are made 0600: the token is the door, the mode the wall.
        let saved = umask(0o177)
        let app = Application(
            responder: api,
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            // At most 512 connections at once (more wait in the backlog): memory stays bounded.
            configuration: ApplicationConfiguration(address: address, serverName: nil,
                                                    availableConnectionsDelegate: MaximumAvailableConnections(512, logger: log.framework)),
            onServerRunning: { channel in
                umask(saved)
                let shown = channel.localAddress.map { address in
                    guard let port = address.port else { return "unix:\(address.pathname ?? "?")" }
                    let host = address.ipAddress ?? "?"
                    return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
                } ?? "?"
                log.always("coffer serve: listening on \(shown) for \(service.root)\(readOnly ? " (read-only)" : "")")
            },
            logger: log.framework
        )
        do {
            try await app.runService()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            let shown = socket ?? listen ?? "127.0.0.1:\(ServeCommand.defaultPort)"
            let reason = error.errnoCode == EADDRINUSE ? "is already in use"
                : error.errnoCode == EACCES ? "is not one this user may listen on" : "is not an address of this host"
            ServerLog.error("cannot listen on \(shown): it \(reason)",
                            hint: socket == nil ? "pick another with --listen 127.0.0.1:PORT (port 0 picks a free one)"
                                                : "remove it if no server uses it, or pick another --socket PATH")
            throw ExitCode(1)
        } catch {
            ServerLog.error(ServeProblem.message(for: error), hint: nil)
            throw ExitCode(1)
        }
    }
}
