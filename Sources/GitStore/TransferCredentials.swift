#if canImport(Glibc)
import Glibc
#endif

/// What a fetch, push or clone may use to authenticate, and whom it trusts.
///
/// It holds no secret itself: ssh keys are read by libssh2 from the files
/// named here or signed by the ssh-agent, http passwords come from git's
/// credential helpers for the one transfer that asked for them. ssh host
/// keys are checked against the known_hosts files named here and an unknown
/// or changed key is refused, never accepted on first use.
public struct TransferCredentials: Sendable {
    /// ssh: offer the keys of the ssh-agent first. libssh2 reaches the agent
    /// through this process's `SSH_AUTH_SOCK`; without it the agent is skipped.
    public var useSSHAgent: Bool
    /// ssh: private key files offered after the agent, in order. Files that
    /// do not exist, or are passphrase-protected (coffer never prompts for an
    /// ssh passphrase; load such a key into the agent), are skipped.
    public var sshKeyFiles: [String]
    /// ssh: the user name when the URL carries none.
    public var sshUser: String
    /// ssh: the known_hosts files a server's host key must be found in, in
    /// OpenSSH's format (hashed entries included).
    public var knownHostsFiles: [String]
    /// http(s): ask git's credential helpers (`git credential fill`) for a
    /// user name and password when the server asks for them.
    public var useCredentialHelper: Bool
    /// http(s): let `git credential fill` prompt on the terminal when no
    /// helper knows the password (git's own behaviour); off, it fails instead.
    public var allowTerminalPrompt: Bool
    /// The `git` program that runs the credential helpers (absolute path).
    public var gitProgram: String
    /// The `ssh-keygen` program that looks hosts up in known_hosts (absolute path).
    public var sshKeygenProgram: String

    public init(useSSHAgent: Bool, sshKeyFiles: [String], sshUser: String, knownHostsFiles: [String],
                useCredentialHelper: Bool, allowTerminalPrompt: Bool, gitProgram: String, sshKeygenProgram: String) {
        self.useSSHAgent = useSSHAgent
        self.sshKeyFiles = sshKeyFiles
        self.sshUser = sshUser
        self.knownHostsFiles = knownHostsFiles
        self.useCredentialHelper = useCredentialHelper
        self.allowTerminalPrompt = allowTerminalPrompt
        self.gitProgram = gitProgram
        self.sshKeygenProgram = sshKeygenProgram
    }

    /// ssh's defaults for the user whose environment this is: the agent,
    /// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, `~/.ssh/known_hosts` then
    /// `/etc/ssh/ssh_known_hosts`, the local user's name; git's credential
    /// helpers without terminal prompts; `git` and `ssh-keygen` from `PATH`.
    public static func standard(environment: [String: String]) -> TransferCredentials {
        let home = environment["HOME"] ?? homeOfCurrentUser() ?? "/"
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return TransferCredentials(
            useSSHAgent: true,
            sshKeyFiles: ["id_ed25519", "id_ecdsa", "id_rsa"].map { "\(home)/.ssh/\($0)" },
            sshUser: environment["USER"] ?? nameOfCurrentUser() ?? "git",
            knownHostsFiles: ["\(home)/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"],
            useCredentialHelper: true,
            allowTerminalPrompt: false,
            gitProgram: HelperProcess.locate("git", searchPath: path) ?? "/usr/bin/git",
            sshKeygenProgram: HelperProcess.locate("ssh-keygen", searchPath: path) ?? "/usr/bin/ssh-keygen")
    }

    private static func homeOfCurrentUser() -> String? {
        getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } }
    }

    private static func nameOfCurrentUser() -> String? {
        getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
    }
}
