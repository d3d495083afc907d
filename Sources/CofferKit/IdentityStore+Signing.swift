#if canImport(Glibc)
import Glibc
#endif
import Age
import AgeSSH
import Posix
import SSHSig

/// The identity's SSH signing key (Ed25519), which signs bundles and, later,
/// commits: `<identity>.signing`, mode 0600 beside the identity, an age file
/// sealed to the identity's own X25519 key. Opening it takes the identity —
/// its passphrase, when it has one — and no second scrypt; the key cannot
/// be used without the identity, and is never written anywhere in clear.
///
/// Its plaintext is OpenSSH's private key file (so `age -d -i IDENTITY
/// IDENTITY.signing` gives a key `ssh-keygen -Y sign -f` takes), followed by
/// `# retired: ssh-ed25519 …` lines naming the keys it replaced, which
/// `identity rotate` takes out of `.signers`. Its public half is the
/// `ssh-ed25519 … coffer:NAME` line of the sidecar.
extension IdentityStore {
    /// `<identity>.signing`.
    public var signingKeyPath: String { path + ".signing" }

    /// The signing key's public half as the sidecar names it, read without
    /// the passphrase; nil when the sidecar names none (or is missing).
    public func signingPublicKey() throws -> SSHEd25519PublicKey? {
        try readSidecar()?.signing?.key
    }

    /// The name recorded with the identity: the file's `# name:` when it is
    /// not passphrase-protected, else the sidecar's `coffer:NAME`.
    public func recordedName() -> String? {
        if let contents = try? Files.readSecret(path: path), let name = IdentityStore.name(in: contents) { return name }
        guard let comment = (try? readSidecar())?.signing?.comment, comment.hasPrefix("coffer:") else { return nil }
        let name = String(comment.dropFirst("coffer:".count))
        return name.isEmpty ? nil : name
    }

    /// The identity's signing key, opened with `identities` (the unlocked
    /// identity) — or, for an identity that has none yet, created and
    /// sealed to its key in use (`identities[0]`). The sidecar must name it;
    /// one that names no signing key gets its line, with `name` (default:
    /// `recordedName()`).
    ///
    /// An SSH key used as the identity signs with itself: it is already an
    /// SSH signing key, and the user's other tools know it.
    public func signingKey(identities loaded: [Identity], name: String? = nil) throws -> SSHSigningKey {
        if let ssh = loaded.first(where: { $0 is SSHEd25519Identity }) as? SSHEd25519Identity { return ssh.signingKey }
        let identities = loaded.compactMap { $0 as? X25519Identity }
        guard let inUse = identities.first else { throw VaultError.identityMissing(path: path) }
        // Opened once, for the sidecar's check and for use: each opening is
        // an age decryption and a key derivation.
        var opened: (key: SSHSigningKey, retired: [SSHEd25519PublicKey])??
        func open() throws -> (key: SSHSigningKey, retired: [SSHEd25519PublicKey])? {
            if let opened { return opened }
            let key = try openSigningKey(identities)
            opened = .some(key)
            return key
        }
        try checkSidecar(identities) { try open()?.key.publicKey }
        if let held = try open() {
            if try readSidecar()?.signing == nil {
                try writeSidecar(identities.map(\.recipient), signing: held.key.publicKey, name: name ?? recordedName())
            }
            return held.key
        }
        let key = SSHSigningKey.generate()
        try writeSigningKey(key, retired: [], sealedFor: inUse.recipient)
        try writeSidecar(identities.map(\.recipient), signing: key.publicKey, name: name ?? recordedName())
        return key
    }

    /// The key in `<identity>.signing` and the public halves of those it
    /// replaced; nil when there is no such file. Refused like the identity
    /// when group or others can read it, or when it is not a regular file.
    func openSigningKey(_ identities: [X25519Identity]) throws -> (key: SSHSigningKey, retired: [SSHEd25519PublicKey])? {
        let file = signingKeyPath
        var info = stat()
        guard lstat(file, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG else { throw VaultError.file(.open(path: file, errno: ELOOP)) }
        guard info.st_mode & 0o077 == 0 else { throw VaultError.identityTooOpen(path: file, mode: info.st_mode) }
        let plaintext: SecureBytes
        do {
            plaintext = try Age.decrypt(try Files.readSecret(path: file).withUnsafeBytes { Array($0) }, identities: identities).plaintext
        } catch AgeError.noIdentityMatched {
            throw VaultError.invalidSigningKey(path: file, reason: "none of the identity's keys opens it")
        } catch let error as AgeError {
            throw VaultError.invalidSigningKey(path: file, reason: "it is damaged (\(error))")
        }
        do {
            return (try SSHSigningKey(openSSHPrivateKey: plaintext), try IdentityStore.retiredKeys(in: plaintext))
        } catch let error as SSHSigError {
            throw VaultError.invalidSigningKey(path: file, reason: error.description)
        }
    }

    /// Replaces `<identity>.signing` with `key` sealed to `recipient`,
    /// remembering `retired`. The sidecar goes first (its caller writes it
    /// again), so a crash in between leaves none rather than one naming
    /// another key than the file holds.
    func writeSigningKey(_ key: SSHSigningKey, retired: [SSHEd25519PublicKey], sealedFor recipient: X25519Recipient) throws {
        let file = signingKeyPath
        var info = stat()
        // Never written through a link (even a dangling one).
        if lstat(file, &info) == 0, info.st_mode & S_IFMT != S_IFREG { throw VaultError.file(.open(path: file, errno: ELOOP)) }
        if unlink(publicKeyPath) != 0 && errno != ENOENT { throw VaultError.file(.write(path: publicKeyPath, errno: errno)) }
        let pem = key.openSSHPrivateKey(comment: "coffer signing key")
        let notes = Array(retired.map { "# retired: \($0.authorizedKey)\n" }.joined().utf8)
        let plaintext = SecureBytes(count: pem.count + notes.count)
        plaintext.withUnsafeMutableBytes { out in
            pem.withUnsafeBytes { out.copyMemory(from: $0) }
            notes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[pem.count...]).copyMemory(from: $0) }
        }
        let sealed = try Age.encrypt(plaintext, to: [recipient], armored: true)
        let sink = try AtomicFileSink(path: file, mode: 0o600)
        try sealed.withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }

    /// The `# retired: ssh-ed25519 …` lines after the key (public halves).
    private static func retiredKeys(in plaintext: SecureBytes) throws -> [SSHEd25519PublicKey] {
        let marker = Array("# retired: ".utf8)
        let lines: [String] = plaintext.withUnsafeBytes { bytes in
            bytes.split(separator: 0x0A).filter { $0.starts(with: marker) }.map { String(decoding: $0.dropFirst(marker.count), as: UTF8.self) }
        }
        return try lines.map { try SSHEd25519PublicKey(parsingAuthorizedKey: $0) }
    }

    /// The signing key file's bytes as they are (nil: none), for `restoreSigningKey`.
    func signingKeySnapshot() -> [UInt8]? { try? Files.read(path: signingKeyPath) }

    /// Puts back a snapshot of the signing key file (removing it if there was none).
    func restoreSigningKey(_ snapshot: [UInt8]?) throws {
        guard let snapshot else { unlink(signingKeyPath); return }
        let sink = try AtomicFileSink(path: signingKeyPath, mode: 0o600)
        try snapshot.withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }
}
