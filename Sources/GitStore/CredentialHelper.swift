import Age

/// A user name and password for an http(s) remote, from git's credential
/// helpers. The password stays in a wiped buffer (NUL-terminated for
/// libgit2) and is only ever written to the helper's stdin.
final class HTTPCredential {
    let username: String
    /// The password's bytes followed by a NUL.
    let password: SecureBytes

    init(username: String, password: SecureBytes) {
        self.username = username
        self.password = password
    }
}

/// git's credential protocol (`git credential fill|approve|reject`), so a
/// vault's remote authenticates exactly as `git push` to it would: the
/// same helpers (store, cache, libsecret, a manager), the same stored
/// passwords. A password never reaches argv, the environment or an error.
struct CredentialHelper {
    let git: String
    let allowTerminalPrompt: Bool

    /// The helpers' answer for `url`, or nil when none knows one (and,
    /// with prompts allowed, the user gave none).
    func fill(_ url: RemoteURL, username: String?) throws -> HTTPCredential? {
        let outcome = try run("fill", try request(url, username: username, password: nil))
        guard outcome.status == 0 else { return nil }
        return outcome.output.withUnsafeBytes { bytes -> HTTPCredential? in
            var name: String?
            var password: SecureBytes?
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                if line.starts(with: "username=".utf8) {
                    name = String(decoding: line.dropFirst(9), as: UTF8.self)
                } else if line.starts(with: "password=".utf8) {
                    let value = SecureBytes(count: line.count - 9 + 1)
                    value.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: line.dropFirst(9))) }
                    password = value
                }
                start = end + 1
            }
            guard let name, let password else { return nil }
            return HTTPCredential(username: name, password: password)
        }
    }

    /// Tells the helpers `credential` worked (a store helper saves it).
    func approve(_ credential: HTTPCredential, for url: RemoteURL) {
        _ = try? run("approve", try request(url, username: credential.username, password: credential.password))
    }

    /// Tells the helpers `credential` was refused (a store helper forgets it).
    func reject(_ credential: HTTPCredential, for url: RemoteURL) {
        _ = try? run("reject", try request(url, username: credential.username, password: credential.password))
    }

    private func run(_ action: String, _ input: SecureBytes) throws -> HelperProcess.Outcome {
        // A terminal prompt waits for a person; a helper alone answers at once.
        try HelperProcess.run([git, "credential", action], input: input,
                              environment: allowTerminalPrompt ? [:] : ["GIT_TERMINAL_PROMPT": "0"],
                              limit: 64 << 10, timeout: allowTerminalPrompt ? 600 : 30)
    }

    /// The request lines, ending with the blank line that closes it. A
    /// field holding a line break or NUL (a crafted URL or user name) would
    /// add lines of its own — another `host=`, say — so it is refused, as
    /// git refuses it.
    private func request(_ url: RemoteURL, username: String?, password: SecureBytes?) throws -> SecureBytes {
        let scheme: String
        switch url.kind {
        case .https: scheme = "https"
        case .http: scheme = "http"
        case .other(let name): scheme = name
        default: scheme = "https"
        }
        var head = "protocol=\(scheme)\nhost=\(url.credentialHost)\n"
        if !url.path.isEmpty { head += "path=\(url.path)\n" }
        if let username { head += "username=\(username)\n" }
        let fields = [url.credentialHost, url.path, username ?? ""]
        guard !fields.contains(where: { $0.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) }) else {
            throw GitError.helperFailed(program: git, reason: "a credential field of the URL holds a line break")
        }
        let headBytes = Array(head.utf8)
        let secretCount = password.map { $0.count - 1 } ?? 0  // without its NUL
        let tail = Array((password == nil ? "\n" : "\n\n").utf8)
        let prefix = Array((password == nil ? "" : "password=").utf8)
        let out = SecureBytes(count: headBytes.count + prefix.count + secretCount + tail.count)
        out.withUnsafeMutableBytes { buffer in
            var offset = 0
            func put(_ bytes: UnsafeRawBufferPointer) {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
                offset += bytes.count
            }
            headBytes.withUnsafeBytes(put)
            prefix.withUnsafeBytes(put)
            password?.withUnsafeBytes { put(UnsafeRawBufferPointer(rebasing: $0.prefix(secretCount))) }
            tail.withUnsafeBytes(put)
        }
        return out
    }
}
