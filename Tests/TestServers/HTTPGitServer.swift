import Foundation

/// Debian's lighttpd serving bare repositories over git's smart HTTP
/// protocol (`git http-backend` as CGI) on 127.0.0.1 and a free port:
/// fetches need no password, pushes need HTTP basic auth as `user` with
/// `password` (a plain password file, the test's own).
public final class HTTPGitServer {
    public let directory: String
    public let port: Int
    /// Where the bare repositories live (`GIT_PROJECT_ROOT`).
    public let projectRoot: String
    public let user = "pusher"
    /// A test password: only this server, this test's credential store and
    /// the request that carries it ever see it.
    public let password: String

    private let daemon: Daemon

    public init() throws {
        let lighttpd = try TestTools.require("lighttpd")
        let git = try TestTools.require("git")
        directory = try TestTools.temporaryDirectory("coffer-httpd")
        projectRoot = "\(directory)/repos"
        try FileManager.default.createDirectory(atPath: projectRoot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory)/www", withIntermediateDirectories: true)
        password = "pw-" + UUID().uuidString.prefix(12)
        try "\(user):\(password)\n".write(toFile: "\(directory)/users", atomically: true, encoding: .utf8)
        let backend = try TestTools.run([git, "--exec-path"]).trimmingCharacters(in: .whitespacesAndNewlines) + "/git-http-backend"
        port = try Network.freePort()
        // After git-http-backend(1)'s lighttpd example: auth only where
        // receive-pack (a push) is asked for, in both of its requests.
        let auth = #"auth.require = ("/" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))"#
        let config = """
            server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file", "mod_accesslog")
            server.document-root = "\(directory)/www"
            server.bind = "127.0.0.1"
            server.port = \(port)
            server.errorlog = "\(directory)/error.log"
            accesslog.filename = "\(directory)/access.log"
            auth.backend = "plain"
            auth.backend.plain.userfile = "\(directory)/users"
            alias.url = ("/git" => "\(backend)")
            $HTTP["url"] =~ "^/git" {
                cgi.assign = ("" => "")
                setenv.set-environment = ("GIT_PROJECT_ROOT" => "\(projectRoot)", "GIT_HTTP_EXPORT_ALL" => "1")
            }
            $HTTP["querystring"] =~ "service=git-receive-pack" { \(auth) }
            $HTTP["url"] =~ "^/git/.*/git-receive-pack$" { \(auth) }

            """
        try config.write(toFile: "\(directory)/lighttpd.conf", atomically: true, encoding: .utf8)
        daemon = try Daemon("lighttpd", [lighttpd, "-D", "-f", "\(directory)/lighttpd.conf"], logFile: "\(directory)/lighttpd.log")
        do {
            try daemon.waitForPort(port)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    public var log: String {
        daemon.log + ((try? String(contentsOfFile: "\(directory)/error.log", encoding: .utf8)) ?? "")
    }

    /// The access log, for failure messages (lighttpd flushes it about once a second).
    public var accessLog: String { (try? String(contentsOfFile: "\(directory)/access.log", encoding: .utf8)) ?? "" }

    public func stop() {
        daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A bare repository served at `url(name)`, accepting authenticated pushes.
    public func makeBareRepository(_ name: String, initialBranch: String? = nil) throws -> String {
        let git = try TestTools.require("git")
        let path = "\(projectRoot)/\(name)"
        var argv = [git, "init", "-q", "--bare"]
        if let initialBranch { argv += ["--initial-branch", initialBranch] }
        try TestTools.run(argv + [path])
        // http-backend serves receive-pack only to an authenticated user
        // unless told otherwise; lighttpd's auth is what guards it here.
        try TestTools.run([git, "-C", path, "config", "http.receivepack", "true"])
        return path
    }

    /// `http://127.0.0.1:port/git/<name>`.
    public func url(_ name: String) -> String { "http://127.0.0.1:\(port)/git/\(name)" }
}
