#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// Where the user's private key lives and how it is guarded: outside any
/// vault (`CofferLocator` names the default place), created 0600 in a 0700
/// directory, refused when group or others can read it, optionally sealed
/// with a passphrase (an age scrypt file, as `age -p` writes).
public struct IdentityStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// Loads the identities, refusing a file others can read. `passphrase` is
    /// asked only when the file is passphrase-protected.
    public func load(passphrase: () throws -> SecureBytes) throws -> [X25519Identity] {
        try loadWithName(passphrase: passphrase).identities
    }

    /// The public keys the file names in its `# public key:` comments, read
    /// without the passphrase; nil when the file is passphrase-protected (the
    /// comments are sealed too) or names none.
    public func publicKeys() -> [X25519Recipient]? {
        guard let contents = try? Files.readSecret(path: path) else { return nil }
        let keys: [X25519Recipient] = contents.withUnsafeBytes { bytes in
            bytes.split(separator: 0x0A).compactMap { line in
                guard line.starts(with: Array("# public key: ".utf8)) else { return nil }
                return try? X25519Recipient(parsing: String(decoding: line.dropFirst(14), as: UTF8.self).trimming(" \r"))
            }
        }
        return keys.isEmpty ? nil : keys
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

    /// Replaces the file's contents atomically (passwd, rotate), keeping 0600.
    /// The first identity is the one in use; any others are retired keys,
    /// kept so that older versions of secrets stay readable.
    public func replace(with identities: [X25519Identity], name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        let contents = IdentityStore.render(identities, name: name)
        let bytes = try passphrase.map {
            SecureBytes(copying: try Age.encrypt(contents, to: [ScryptRecipient(passphrase: $0, workFactor: workFactor)], armored: true))
        } ?? contents
        try write(bytes, replacing: true)
    }

    /// The file's bytes as they are (sealed or not), to put back with `restore`.
    public func snapshot() throws -> SecureBytes { try Files.readSecret(path: path) }

    public func restore(_ snapshot: SecureBytes) throws { try write(snapshot, replacing: true) }

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
        render([identity], name: name)
    }

    static func render(_ identities: [X25519Identity], name: String?) -> SecureBytes {
        var parts: [SecureBytes] = []
        for (n, identity) in identities.enumerated() {
            var head = n == 0 ? "# created by coffer\n" : "# retired by coffer identity rotate; kept to read older versions\n"
            head += "# public key: \(identity.recipient.encoded)\n"
            if n == 0, let name { head += "# name: \(name)\n" }
            parts.append(SecureBytes(copying: Array(head.utf8)))
            parts.append(identity.encodedSecretKey())
            parts.append(SecureBytes(copying: [0x0A]))
        }
        let out = SecureBytes(count: parts.reduce(0) { $0 + $1.count })
        out.withUnsafeMutableBytes { o in
            var at = 0
            for part in parts {
                part.withUnsafeBytes { (o.baseAddress! + at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                at += part.count
            }
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
            guard info.st_mode & S_IFMT == S_IFREG else { throw VaultError.file(.open(path: path, errno: ELOOP)) }
            if !replacing { throw VaultError.identityExists(path: path) }
        }
        let file = try AtomicFileSink(path: path)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}
