#if canImport(Glibc)
import Glibc
#endif
import Age

/// Where the user's private key lives and how it is guarded: outside any
/// vault, `$XDG_CONFIG_HOME/coffer/identity` by default, created 0600 in a 0700
/// directory, refused when group or others can read it, optionally sealed
/// with a passphrase (an age scrypt file, as `age -p` writes).
public struct IdentityStore {
    public let path: String

    public init(path: String) { self.path = path }

    /// `--identity`, then `COFFER_IDENTITY`, then the XDG default.
    public static func resolve(explicit: String?) -> IdentityStore {
        if let explicit, !explicit.isEmpty { return IdentityStore(path: explicit) }
        if let env = Environment.value("COFFER_IDENTITY"), !env.isEmpty { return IdentityStore(path: env) }
        let config = Environment.value("XDG_CONFIG_HOME").flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (Environment.value("HOME") ?? "/") + "/.config"
        return IdentityStore(path: config + "/coffer/identity")
    }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// Loads the identities, refusing a file others can read. `passphrase` is
    /// asked only when the file is passphrase-protected.
    public func load(passphrase: () throws -> SecureBytes) throws -> [X25519Identity] {
        try loadWithName(passphrase: passphrase).identities
    }

    /// Refuses an identity file group or others can read, without reading it
    /// (for commands that do not need the key but must not ignore the risk).
    public func checkPermissions() throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & 0o077 == 0 else { throw VaultError.identityTooOpen(path: path, mode: info.st_mode) }
    }

    /// The identities and the `# name:` recorded beside them.
    public func loadWithName(passphrase: () throws -> SecureBytes) throws -> (identities: [X25519Identity], name: String?) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw VaultError.identityMissing(path: path) }
        guard info.st_mode & 0o077 == 0 else { throw VaultError.identityTooOpen(path: path, mode: info.st_mode) }
        let text = try IdentityLoader.plaintext(path: path, passphrase: passphrase)
        return (try KeyFile.parseIdentities(text), IdentityStore.name(in: text))
    }

    /// Writes a new identity (never over an existing one); with a passphrase
    /// the file is sealed with scrypt at `workFactor`.
    public func create(_ identity: X25519Identity, name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        let contents = IdentityStore.render(identity, name: name)
        let bytes: SecureBytes
        if let passphrase {
            bytes = SecureBytes(copying: try Age.encrypt(contents, to: [ScryptRecipient(passphrase: passphrase, workFactor: workFactor)], armored: true))
        } else {
            bytes = contents
        }
        try write(bytes, replacing: false)
    }

    /// Replaces the file's contents atomically (for passwd), keeping 0600.
    public func replace(with identity: X25519Identity, name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        let contents = IdentityStore.render(identity, name: name)
        let bytes = try passphrase.map {
            SecureBytes(copying: try Age.encrypt(contents, to: [ScryptRecipient(passphrase: $0, workFactor: workFactor)], armored: true))
        } ?? contents
        try write(bytes, replacing: true)
    }

    /// The name recorded in the identity file (`# name: …`), if any.
    static func name(in contents: SecureBytes) -> String? {
        contents.withUnsafeBytes { bytes in
            for line in bytes.split(separator: 0x0A) where line.starts(with: Array("# name: ".utf8)) {
                return String(decoding: line.dropFirst(8), as: UTF8.self).trimming(" \r")
            }
            return nil
        }
    }

    static func render(_ identity: X25519Identity, name: String?) -> SecureBytes {
        var head = "# created by coffer\n# public key: \(identity.recipient.encoded)\n"
        if let name { head += "# name: \(name)\n" }
        let key = identity.encodedSecretKey()
        let out = SecureBytes(count: head.utf8.count + key.count + 1)
        out.withUnsafeMutableBytes { o in
            o.copyBytes(from: Array(head.utf8))
            key.withUnsafeBytes { (o.baseAddress! + head.utf8.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            o[o.count - 1] = 0x0A
        }
        return out
    }

    private func write(_ bytes: SecureBytes, replacing: Bool) throws {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try Files.makeDirectories(directory, mode: 0o700)
        // The key's directory is 0700 even if it existed before with a looser mode.
        chmod(directory, 0o700)
        var info = stat()
        if lstat(path, &info) == 0 {
            // Never write a private key through a link (even a dangling one).
            guard info.st_mode & S_IFMT == S_IFREG else { throw VaultError.unreadable(path: path, reason: "not a regular file") }
            if !replacing { throw VaultError.identityExists(path: path) }
        }
        let file = try AtomicFileSink(path: path)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}

public enum Environment {
    public static func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// The login name, a default for names recorded with keys and commits.
    public static var user: String? { value("USER") ?? value("LOGNAME") }
}
