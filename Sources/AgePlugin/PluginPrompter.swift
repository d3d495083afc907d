import Age

/// How a plugin's requests reach the user during a session (the CLI
/// implements it with coffer's prompts). Every text is the plugin's own:
/// untrusted, to be escaped (`UntrustedText`) before a terminal shows it.
/// A method that throws answers the plugin `fail`; the plugin decides
/// whether that ends the session. Answers to `requestSecret` travel to the
/// plugin in wiped buffers only.
public protocol PluginPrompter {
    /// `msg`: show `text` (e.g. "touch your key").
    func message(_ text: String) throws
    /// `confirm`: true for the `yes` choice, false for `no` (offered only when not nil).
    func confirm(_ text: String, yes: String, no: String?) throws -> Bool
    /// `request-public`: a value that may be shown as it is typed.
    func requestPublic(_ text: String) throws -> String
    /// `request-secret`: a PIN or passphrase.
    func requestSecret(_ text: String) throws -> SecureBytes
}

/// The prompter of a session with no user at hand: it answers every request
/// `fail`, so a plugin that needs a PIN or a touch says so in its error.
public struct NoPrompter: PluginPrompter {
    public struct Unavailable: Error {}

    public init() {}
    public func message(_ text: String) throws { throw Unavailable() }
    public func confirm(_ text: String, yes: String, no: String?) throws -> Bool { throw Unavailable() }
    public func requestPublic(_ text: String) throws -> String { throw Unavailable() }
    public func requestSecret(_ text: String) throws -> SecureBytes { throw Unavailable() }
}
