#if canImport(Glibc)
import Glibc
#endif
import Age
import CGit2

/// The state one fetch, push or clone shares with libgit2's callbacks,
/// passed to them as the `payload` pointer (never a global): which
/// credentials were offered, the first error a callback raised (rethrown
/// once libgit2 returns), and the remote's per-ref push verdicts.
///
/// Every credential source is tried once: libgit2 calls the credential
/// callback again after each refusal, so a wrong password or key ends the
/// transfer instead of looping.
final class TransferSession {
    let functions: RemoteFunctions
    let credentials: TransferCredentials
    let url: RemoteURL
    /// The first error a callback raised; it outranks libgit2's return code.
    private(set) var error: Error?
    /// Refs the remote refused to update, with its reason, in its order.
    private(set) var rejections: [(ref: String, reason: String)] = []

    private var sshOffers: [SSHOffer]?
    private var tried: [String] = []
    private var httpCredential: HTTPCredential?

    private enum SSHOffer {
        case agent
        case keyFile(String)
    }

    init(functions: RemoteFunctions, credentials: TransferCredentials, url: String) {
        self.functions = functions
        self.credentials = credentials
        self.url = RemoteURL(url)
    }

    /// The callbacks that route into this session, valid while it lives.
    func callbacks(into callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, url, username, allowed, payload in
            TransferSession.from(payload).credential(out, username: username.map { String(cString: $0) }, allowed: allowed)
        }
        callbacks.certificate_check = { cert, _, host, payload in
            TransferSession.from(payload).checkCertificate(cert, host: host.map { String(cString: $0) } ?? "")
        }
        callbacks.push_update_reference = { ref, status, payload in
            if let ref, let status {
                TransferSession.from(payload).rejections.append((String(cString: ref), String(cString: status)))
            }
            return 0
        }
    }

    /// Turns libgit2's return code into the outcome: a callback's error
    /// first, then a refused credential, then libgit2's own error. A helper's
    /// password that worked is approved; one that was refused, rejected.
    func finish(_ rc: Int32, _ function: String) throws {
        if let error { throw error }
        if rc == GIT_EAUTH.rawValue {
            if let httpCredential { CredentialHelper(credentials).reject(httpCredential, for: url) }
            throw GitError.authenticationFailed(url: url.redacted, tried: tried)
        }
        try functions.lib.check(rc, function)
        if let httpCredential { CredentialHelper(credentials).approve(httpCredential, for: url) }
    }

    private static func from(_ payload: UnsafeMutableRawPointer?) -> TransferSession {
        Unmanaged<TransferSession>.fromOpaque(payload!).takeUnretainedValue()
    }

    private func fail(_ error: Error, _ code: git_error_code) -> Int32 {
        if self.error == nil { self.error = error }
        return code.rawValue
    }

    // MARK: credentials

    private func credential(_ out: RemoteFunctions.CredentialOut?, username: String?, allowed: UInt32) -> Int32 {
        let f = functions
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            let user = username ?? credentials.sshUser
            guard let offer = nextSSHOffer() else {
                return fail(GitError.authenticationFailed(url: url.redacted, tried: tried), GIT_EAUTH)
            }
            switch offer {
            case .agent:
                tried.append("the ssh-agent")
                return f.credentialSSHKeyFromAgent(out, user)
            case .keyFile(let path):
                tried.append(path)
                return f.credentialSSHKeyNew(out, user, nil, path, nil)
            }
        }
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
            return f.credentialUsernameNew(out, username ?? credentials.sshUser)
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            if let refused = httpCredential {
                CredentialHelper(credentials).reject(refused, for: url)
                return fail(GitError.authenticationFailed(url: url.redacted, tried: tried), GIT_EAUTH)
            }
            guard credentials.useCredentialHelper else {
                return fail(GitError.authenticationFailed(url: url.redacted, tried: []), GIT_EAUTH)
            }
            tried.append("git credential fill")
            do {
                guard let found = try CredentialHelper(credentials).fill(url, username: username) else {
                    return fail(GitError.authenticationFailed(url: url.redacted, tried: ["git credential fill (no credential)"]),
                                GIT_EAUTH)
                }
                httpCredential = found
                return found.password.withUnsafeBytes { password in
                    f.credentialUserpassPlaintextNew(out, found.username, password.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
            } catch {
                return fail(error, GIT_EUSER)
            }
        }
        return fail(GitError.authenticationFailed(url: url.redacted, tried: ["no supported method"]), GIT_EAUTH)
    }

    private func nextSSHOffer() -> SSHOffer? {
        if sshOffers == nil {
            var offers: [SSHOffer] = []
            // libssh2 finds the agent through SSH_AUTH_SOCK; a dead socket
            // would end the transfer rather than move on to the key files.
            if credentials.useSSHAgent, let socket = getenv("SSH_AUTH_SOCK").map({ String(cString: $0) }),
               SSHKeyFile.isSocket(socket) {
                offers.append(.agent)
            }
            offers += credentials.sshKeyFiles.filter(SSHKeyFile.isUsable).map(SSHOffer.keyFile)
            sshOffers = offers
        }
        guard !sshOffers!.isEmpty else { return nil }
        return sshOffers!.removeFirst()
    }

    // MARK: host keys

    private func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>?, host: String) -> Int32 {
        guard let cert, cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
            // TLS: libgit2 and the system's CA store decide.
            return GIT_PASSTHROUGH.rawValue
        }
        let hostkey = UnsafeMutableRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        guard hostkey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostkey.hostkey else {
            return fail(GitError.unknownHostKey(host: host, keyType: "unknown", fingerprint: "(the server sent no raw key)",
                                                knownHostsFiles: credentials.knownHostsFiles), GIT_ECERTIFICATE)
        }
        let key = HostKeyCheck.HostKey(blob: Array(UnsafeRawBufferPointer(start: raw, count: hostkey.hostkey_len)))
        // libgit2 names only the host; the port comes from the URL it connected to.
        let name = host == url.host ? url.knownHostsName : host
        do {
            try HostKeyCheck(knownHostsFiles: credentials.knownHostsFiles, sshKeygen: credentials.sshKeygenProgram)
                .verify(key, host: name)
            // Ours is the authoritative check: 0 accepts even where libgit2's
            // own look at ~/.ssh/known_hosts (which it passes as `valid`) disagrees.
            return 0
        } catch {
            return fail(error, GIT_ECERTIFICATE)
        }
    }
}

extension CredentialHelper {
    init(_ credentials: TransferCredentials) {
        self.init(git: credentials.gitProgram, allowTerminalPrompt: credentials.allowTerminalPrompt)
    }
}
