#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// Which ssh key files a transfer can offer. coffer never asks for an ssh
/// key's passphrase, and libssh2 fails the whole transfer (rather than
/// moving on) on a key it cannot decrypt, so encrypted keys are skipped:
/// such a key is used through the ssh-agent.
enum SSHKeyFile {
    /// True when `path` is a readable private key without a passphrase.
    /// Reads the file into a wiped buffer and decodes only the public start
    /// of an OpenSSH key (its magic and cipher name), never key material.
    static func isUsable(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        guard let data = try? Files.readSecretRegularFile(path: String(cString: resolved), limit: 1 << 20) else { return false }
        return data.withUnsafeBytes { text in
            let begin = Array("-----BEGIN OPENSSH PRIVATE KEY-----".utf8)
            if text.starts(with: begin) {
                // The first 40 characters decode to 30 public bytes: "openssh-key-v1\0",
                // the cipher name's length and "none" for a plain key.
                let start = text.dropFirst(begin.count).lazy.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }.prefix(40)
                guard let header = Base64.decode(Array(start), padded: true) else { return false }
                return header.starts(with: Array("openssh-key-v1\0".utf8) + [0, 0, 0, 4] + Array("none".utf8))
            }
            // PEM (RSA, EC): an encrypted one says so in its headers, which come first.
            let head = UnsafeRawBufferPointer(rebasing: text.prefix(512))
            return text.starts(with: Array("-----BEGIN ".utf8)) && !containsEncrypted(head)
        }
    }

    /// True when `path` is a Unix socket (an ssh-agent's).
    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    private static func containsEncrypted(_ text: UnsafeRawBufferPointer) -> Bool {
        let word = Array("ENCRYPTED".utf8)
        guard text.count >= word.count else { return false }
        return (0...(text.count - word.count)).contains { text[$0..<($0 + word.count)].elementsEqual(word) }
    }
}
