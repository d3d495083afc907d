#if canImport(Glibc)
import Glibc
#endif
import Age

/// Decides whether an ssh server's host key is trusted, as OpenSSH does
/// with `StrictHostKeyChecking yes`: the key must be listed for the host in
/// a known_hosts file; an unknown key and a different key of the same type
/// are both refused, with the key's fingerprint so the user can verify it.
///
/// The lookup is `ssh-keygen -F`, the stock tool: it knows hashed entries,
/// `[host]:port` names, patterns and markers, which a parser of our own
/// would have to get right too. Only public data travels through it.
struct HostKeyCheck {
    let knownHostsFiles: [String]
    let sshKeygen: String

    /// A host key as the server sent it: the SSH wire-format blob, which
    /// begins with its type name ("ssh-ed25519").
    struct HostKey {
        let blob: [UInt8]

        var type: String {
            guard blob.count >= 4 else { return "unknown" }
            let length = blob[0..<4].reduce(0) { $0 << 8 | Int($1) }
            guard length <= blob.count - 4 else { return "unknown" }
            return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
        }

        /// OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the
        /// blob's SHA-256, as `ssh-keygen -l` and ssh's prompts print it.
        var fingerprint: String { "SHA256:" + Base64.encode(Digest.sha256(blob), padded: false) }
    }

    /// Returns when `key` is listed for `host` (`host` or `[host]:port`);
    /// throws `unknownHostKey` or `hostKeyMismatch` otherwise.
    func verify(_ key: HostKey, host: String) throws {
        var sameTypeFile: String?
        for file in knownHostsFiles where access(file, R_OK) == 0 {
            for entry in try entries(for: host, in: file) {
                if entry.blob == key.blob {
                    if entry.revoked {
                        throw GitError.hostKeyMismatch(host: host, keyType: key.type, fingerprint: key.fingerprint,
                                                       knownHostsFile: file + " (marked @revoked)")
                    }
                    return
                }
                if !entry.revoked && entry.type == key.type && sameTypeFile == nil { sameTypeFile = file }
            }
        }
        if let sameTypeFile {
            throw GitError.hostKeyMismatch(host: host, keyType: key.type, fingerprint: key.fingerprint, knownHostsFile: sameTypeFile)
        }
        throw GitError.unknownHostKey(host: host, keyType: key.type, fingerprint: key.fingerprint, knownHostsFiles: knownHostsFiles)
    }

    private struct Entry {
        let revoked: Bool
        let type: String
        let blob: [UInt8]
    }

    /// The lines `ssh-keygen -F host -f file` prints: `[@marker] hosts type base64 [comment]`.
    /// @cert-authority lines are left out: coffer checks plain host keys only.
    private func entries(for host: String, in file: String) throws -> [Entry] {
        let outcome = try HelperProcess.run([sshKeygen, "-F", host, "-f", file], timeout: 30)
        switch outcome.status {
        case 0: break
        case 1: return []  // not found
        default:
            throw GitError.helperFailed(program: sshKeygen, reason: "looking up \(host) in \(file) exited \(outcome.status)")
        }
        let text = outcome.output.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
            var revoked = false
            if let marker = fields.first, marker.hasPrefix("@") {
                guard marker == "@revoked" else { return nil }
                revoked = true
                fields = fields.dropFirst()
            }
            guard fields.count >= 3, let blob = Base64.decode(Array(fields[fields.startIndex + 2].utf8), padded: true)
            else { return nil }
            return Entry(revoked: revoked, type: String(fields[fields.startIndex + 1]), blob: blob)
        }
    }
}
