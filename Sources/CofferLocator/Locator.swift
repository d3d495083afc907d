#if canImport(Glibc)
import Glibc
#endif

/// Turns the process's surroundings — `COFFER_VAULT`, `COFFER_IDENTITY`,
/// `COFFER_LOCK_TIMEOUT`, `COFFER_PLUGIN_TIMEOUT`, `COFFER_AGENT_SOCK`, the XDG directories, `HOME`, `USER` and the
/// current directory — into the explicit values CofferKit takes. The
/// library reads none of them itself; every front end (the CLI, later the
/// UI and server, programs that link CofferKit) asks here, so they agree.
public struct Locator: Sendable {
    private let variable: @Sendable (String) -> String?
    /// The directory relative paths are taken from (absolute).
    public let currentDirectory: String

    /// - Parameters:
    ///   - variable: looks up an environment variable (default: the process's).
    ///   - currentDirectory: default: the process's working directory.
    public init(variable: @escaping @Sendable (String) -> String? = Locator.processVariable,
                currentDirectory: String? = nil) {
        self.variable = variable
        self.currentDirectory = currentDirectory ?? Locator.processDirectory()
    }

    /// The process environment's value of `name`, if set.
    @Sendable public static func processVariable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    private static func processDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func value(_ name: String) -> String? { variable(name).flatMap { $0.isEmpty ? nil : $0 } }

    /// `path` made absolute against the current directory.
    public func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (currentDirectory == "/" ? "" : currentDirectory) + "/" + path
    }

    /// Where to look for the vault: `--vault`, else `COFFER_VAULT`, else the
    /// current directory. The vault is that directory or the nearest one
    /// enclosing it (`Vault.open(containing:)`).
    public func vaultDirectory(explicit: String?) -> String {
        absolute(explicit.flatMap { $0.isEmpty ? nil : $0 } ?? value("COFFER_VAULT") ?? ".")
    }

    /// The identity file: `--identity`, else `COFFER_IDENTITY`, else
    /// `$XDG_CONFIG_HOME/coffer/identity` (`~/.config` when unset or relative).
    public func identityPath(explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let path = value("COFFER_IDENTITY") { return absolute(path) }
        return configDirectory + "/coffer/identity"
    }

    /// Whether the user named an identity (`--identity` or `COFFER_IDENTITY`),
    /// which must then exist, rather than relying on the default one.
    public func identityIsNamed(explicit: String?) -> Bool {
        !(explicit ?? "").isEmpty || value("COFFER_IDENTITY") != nil
    }

    /// `HOME`, if set.
    public var homeDirectory: String? { value("HOME") }

    /// `$XDG_CONFIG_HOME`, or `~/.config` (the XDG rule: a relative value is ignored).
    public var configDirectory: String {
        value("XDG_CONFIG_HOME").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? (value("HOME") ?? "/") + "/.config"
    }

    /// `$XDG_STATE_HOME`, or `~/.local/state` (a relative value is ignored).
    public var stateDirectory: String {
        value("XDG_STATE_HOME").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? (value("HOME") ?? "/") + "/.local/state"
    }

    /// The directory of this user's audit log: `$XDG_STATE_HOME/coffer`.
    public var auditDirectory: String { stateDirectory + "/coffer" }

    /// Where coffer keeps what lasts no longer than the login session (the
    /// clipboard restorer's pid): `$XDG_RUNTIME_DIR/coffer`, a directory
    /// the system empties at logout; `$XDG_STATE_HOME/coffer` without it
    /// (a relative value is ignored).
    public var runtimeDirectory: String {
        value("XDG_RUNTIME_DIR").flatMap { $0.hasPrefix("/") ? $0 + "/coffer" : nil } ?? auditDirectory
    }

    /// The socket of `coffer agent`: `COFFER_AGENT_SOCK`, else
    /// `$XDG_RUNTIME_DIR/coffer/agent.sock`, else `/tmp/coffer-UID/agent.sock`
    /// (a relative value of either variable is ignored).
    public var agentSocketPath: String {
        if let named = value("COFFER_AGENT_SOCK") { return absolute(named) }
        return value("XDG_RUNTIME_DIR").flatMap { $0.hasPrefix("/") ? $0 + "/coffer/agent.sock" : nil } ?? "/tmp/coffer-\(getuid())/agent.sock"
    }

    /// This user's coffer settings (`audit = off`): `$XDG_CONFIG_HOME/coffer/config`.
    public var userConfigPath: String { configDirectory + "/coffer/config" }

    /// Seconds a write waits for another coffer process: `COFFER_LOCK_TIMEOUT`, else 10.
    public var lockTimeout: Double { value("COFFER_LOCK_TIMEOUT").flatMap(Double.init).map { max(0, $0) } ?? 10 }

    /// Seconds coffer waits for each message of an age plugin before it
    /// gives up on it: `COFFER_PLUGIN_TIMEOUT`, else nil (the client's default).
    public var pluginTimeout: Double? { value("COFFER_PLUGIN_TIMEOUT").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } }

    /// `COFFER_DIFF_REVEAL=1`: the git diff driver may show values it can
    /// decrypt without a passphrase (off by default).
    public var revealsValuesInDiffs: Bool { value("COFFER_DIFF_REVEAL") == "1" }

    /// The login name (`USER`, else `LOGNAME`, else the password database's
    /// name for this uid, for cron and `env -i`): a default name for keys,
    /// commits and the audit log.
    public var userName: String? { value("USER") ?? value("LOGNAME") ?? Locator.accountName() }

    private static func accountName() -> String? {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }
}
