#if canImport(Glibc)
import Glibc
#endif
import Age
import AgePlugin
import AgeSSH
import Posix
import SSHSig

/// Where the user's private key lives and how it is guarded: outside any
/// vault (`CofferLocator` names the default place), created 0600 in a 0700
/// directory, refused when group or others can read it, optionally sealed
/// with a passphrase (an age scrypt file, as `age -p` writes).
///
/// Beside it, `<identity>.pub` names its public keys in the clear, so showing
/// them needs no passphrase. That sidecar is checked against the keys each
/// time they are unlocked: a swapped one is refused before it can pass an
/// attacker's key off as the user's. `<identity>.signing` holds the
/// identity's SSH signing key, sealed to the identity itself
/// (IdentityStore+Signing.swift).
public struct IdentityStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// The public-key sidecar, `<identity>.pub`.
    public var publicKeyPath: String { path + ".pub" }

    /// The public keys the sidecar names, read without the passphrase (the
    /// key in use first); nil when there is no sidecar. A line that is not a
    /// public key makes the whole sidecar untrustworthy.
    public func sidecarPublicKeys() throws -> [X25519Recipient]? {
        try readSidecar()?.keys
    }

    /// Writes the sidecar for `keys` and, if given, the signing key's public
    /// half (`ssh-ed25519 … coffer:NAME`); mode 0644: public keys are public.
    public func writeSidecar(_ keys: [X25519Recipient], signing: SSHEd25519PublicKey? = nil, name: String? = nil) throws {
        unlink(publicKeyPath)
        var text = IdentityStore.sidecarHeading + "; checked against it whenever it is unlocked\n"
        for key in keys { text += key.encoded + "\n" }
        if let signing { text += signing.authorizedKey + Sidecar.comment(name) + "\n" }
        let file = try AtomicFileSink(path: publicKeyPath, mode: 0o644)
        try Array(text.utf8).withUnsafeBytes { try file.write($0) }
        try file.commit()
    }

    /// Refuses a sidecar that does not name exactly `identities`' public
    /// keys, or names a signing key other than the one they open.
    public func checkSidecar(_ identities: [X25519Identity]) throws {
        try checkSidecar(identities) { try openSigningKey(identities)?.key.publicKey }
    }

    /// The same, with `signing` giving the public half of the signing key
    /// the identities open (asked only when the sidecar names one).
    func checkSidecar(_ identities: [X25519Identity], signing: () throws -> SSHEd25519PublicKey?) throws {
        guard let sidecar = try readSidecar() else { return }
        guard sidecar.keys.map(\.encoded) == identities.map(\.recipient.encoded) else {
            throw VaultError.identitySidecarMismatch(sidecar: publicKeyPath, identity: path)
        }
        if let listed = sidecar.signing, try signing() != listed.key {
            throw VaultError.identitySidecarMismatch(sidecar: publicKeyPath, identity: path)
        }
    }

    /// The sidecar's lines: `age1…` keys, then at most one `ssh-ed25519` line.
    struct Sidecar {
        var keys: [X25519Recipient] = []
        var signing: (key: SSHEd25519PublicKey, comment: String?)?

        /// `coffer:NAME` after the signing key, when the name fits on the line.
        static func comment(_ name: String?) -> String {
            guard let name, !name.isEmpty, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return "" }
            return " coffer:" + name
        }
    }

    func readSidecar() throws -> Sidecar? {
        guard access(publicKeyPath, F_OK) == 0 else { return nil }
        let text = String(decoding: try Files.read(path: publicKeyPath), as: UTF8.self)
        var sidecar = Sidecar()
        for line in text.split(separator: "\n") {
            let trimmed = String(line).trimming(" \r\t")
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            if let key = try? X25519Recipient(parsing: trimmed) {
                sidecar.keys.append(key)
            } else if sidecar.signing == nil, let signing = try? SSHEd25519PublicKey.parse(authorizedKey: trimmed) {
                sidecar.signing = signing
            } else {
                throw VaultError.identitySidecarMismatch(sidecar: publicKeyPath, identity: path)
            }
        }
        return sidecar
    }

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

    /// The keys the file holds, of any kind it may hold: coffer's own
    /// (`AGE-SECRET-KEY-1…` lines, the one in use first), or an unencrypted
    /// OpenSSH ssh-ed25519 private key (`~/.ssh/id_ed25519` named with
    /// `--identity`, or one `identity import --ssh` sealed with coffer's
    /// passphrase). `passphrase` is asked only when the file is sealed.
    ///
    /// `AGE-PLUGIN-NAME-1…` lines are keys an age plugin holds; they open
    /// files through `plugins`, the batch the operation's vault uses.
    public func unlock(plugins: PluginBatch? = nil, passphrase: () throws -> SecureBytes) throws -> [Identity] {
        let (text, protected) = try unsealedText(passphrase: passphrase)
        if SSHEd25519Identity.isOpenSSHPrivateKey(text) {
            do {
                let identity = try SSHEd25519Identity(openSSHPrivateKey: text)
                if protected, let listed = try readSidecar()?.signing, listed.key != identity.recipient.key {
                    throw VaultError.identitySidecarMismatch(sidecar: publicKeyPath, identity: path)
                }
                return [identity]
            } catch AgeSSHError.encryptedKey {
                throw VaultError.sshKeyEncrypted(path: path)
            } catch let error as AgeSSHError {
                throw VaultError.invalidIdentityFile(path: path, reason: error.description)
            }
        }
        guard let (pluginLines, rest) = IdentityStore.splitPluginLines(text) else {
            let identities = try KeyFile.parseIdentities(text)
            if protected { try checkSidecar(identities) }
            return identities
        }
        let batch = plugins ?? PluginBatch(client: PluginClient())
        let pluginIdentities: [Identity] = try pluginLines.map { n, line in
            do {
                return PluginReaderIdentity(try PluginIdentity(parsing: line), batch: batch)
            } catch {
                throw VaultError.invalidIdentityFile(path: path, reason: "line \(n) is not a valid AGE-PLUGIN-NAME-1 identity")
            }
        }
        let own = try KeyFile.parseIdentities(rest, allowingNone: true)
        if protected, !own.isEmpty { try checkSidecar(own) }
        return own + pluginIdentities
    }

    /// The `AGE-PLUGIN-…` lines of an identity file (with their line
    /// numbers), and the file without them; nil when it has none, as most
    /// have (then nothing is copied: every command opens this file).
    static func splitPluginLines(_ text: SecureBytes) -> (plugin: [(Int, SecureBytes)], rest: SecureBytes)? {
        text.withUnsafeBytes { bytes in
            // A plain scan: the generic firstRange(of:) cost ~0.15 ms of every get.
            guard ByteSearch.contains(bytes, Array("AGE-PLUGIN-".utf8)) else { return nil }
            var plugin: [(Int, SecureBytes)] = []
            var kept: [Range<Int>] = []
            var start = 0, number = 1
            while start <= bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                var from = start, to = end
                while from < to, bytes[from] == 0x20 || bytes[from] == 0x09 { from += 1 }
                while to > from, bytes[to - 1] == 0x20 || bytes[to - 1] == 0x09 || bytes[to - 1] == 0x0D { to -= 1 }
                if bytes[from..<to].starts(with: "AGE-PLUGIN-".utf8) {
                    plugin.append((number, SecureBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[from..<to]))))
                } else {
                    kept.append(start..<min(end + 1, bytes.count))
                }
                start = end + 1
                number += 1
            }
            let rest = SecureBytes(count: kept.reduce(0) { $0 + $1.count })
            rest.withUnsafeMutableBytes { out in
                var at = 0
                for range in kept {
                    (out.baseAddress! + at).copyMemory(from: bytes.baseAddress! + range.lowerBound, byteCount: range.count)
                    at += range.count
                }
            }
            return (plugin, rest)
        }
    }

    /// The file's text, opened with the passphrase when it is sealed; refuses
    /// a file others can read.
    private func unsealedText(passphrase: () throws -> SecureBytes) throws -> (text: SecureBytes, protected: Bool) {
        try Text.refuseSecretKey(path, as: "the identity path")
        var info = stat()
        guard stat(path, &info) == 0 else { throw VaultError.identityMissing(path: path) }
        guard info.st_mode & 0o077 == 0 else { throw VaultError.identityTooOpen(path: path, mode: info.st_mode) }
        var protected = false
        let text = try IdentityLoader.plaintext(path: path) {
            protected = true
            return try passphrase()
        }
        return (text, protected)
    }

    /// The identities and the `# name:` recorded beside them.
    public func loadWithName(passphrase: () throws -> SecureBytes) throws -> (identities: [X25519Identity], name: String?) {
        let (text, protected) = try unsealedText(passphrase: passphrase)
        if SSHEd25519Identity.isOpenSSHPrivateKey(text) { throw VaultError.sshIdentityNotManaged(path: path) }
        // Rewriting the file (passwd, rotate) would drop a plugin's lines.
        if IdentityStore.splitPluginLines(text)?.plugin.isEmpty == false { throw VaultError.pluginIdentityNotManaged(path: path) }
        let identities = try KeyFile.parseIdentities(text)
        // The sidecar stands in for a protected file's keys (an unprotected
        // one names them itself), so that is when it must match; `get` on an
        // unprotected identity does not pay for the check.
        if protected { try checkSidecar(identities) }
        return (identities, IdentityStore.name(in: text))
    }

    /// Writes a new identity (never over an existing one); with a passphrase
    /// the file is sealed with scrypt at `workFactor`.
    public func create(_ identity: X25519Identity, name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        try name.map { try Text.refuseSecretKey($0, as: "the name") }
        let contents = IdentityStore.render(identity, name: name)
        let bytes: SecureBytes
        if let passphrase {
            bytes = SecureBytes(copying: try Age.encrypt(contents, to: [ScryptRecipient(passphrase: passphrase, workFactor: workFactor)], armored: true))
        } else {
            bytes = contents
        }
        try write(bytes, replacing: false, publicKeys: nil)
        // A signing key left by an identity removed by hand belonged to that one: replaced.
        let signing = SSHSigningKey.generate()
        try writeSigningKey(signing, retired: [], sealedFor: identity.recipient)
        try writeSidecar([identity.recipient], signing: signing.publicKey, name: name)
    }

    /// Writes an SSH key as the identity (never over an existing one): the
    /// OpenSSH private key text, sealed with scrypt when `passphrase` is
    /// given. The key signs with itself, so there is no `.signing` file; the
    /// sidecar names its public line for `identity show`.
    public func createSSH(_ key: SecureBytes, name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        try name.map { try Text.refuseSecretKey($0, as: "the name") }
        let identity = try SSHEd25519Identity(openSSHPrivateKey: key)
        let bytes = try passphrase.map {
            SecureBytes(copying: try Age.encrypt(key, to: [ScryptRecipient(passphrase: $0, workFactor: workFactor)], armored: true))
        } ?? key
        try write(bytes, replacing: false, publicKeys: nil)
        try writeSidecar([], signing: identity.recipient.key, name: name)
    }

    /// Sets, changes or removes (nil) the passphrase of an SSH identity
    /// coffer made (`identity import --ssh`: its sidecar says so). An SSH key
    /// coffer did not write — `~/.ssh/id_ed25519` named with `--identity` —
    /// is never rewritten.
    public func repassSSH(passphrase current: () throws -> SecureBytes, to passphrase: SecureBytes?, workFactor: Int) throws {
        guard let sidecar = try? Files.read(path: publicKeyPath),
              sidecar.starts(with: Array(IdentityStore.sidecarHeading.utf8))
        else { throw VaultError.sshIdentityNotManaged(path: path) }
        guard case let ssh as SSHEd25519Identity = try unlock(passphrase: current).first else {
            throw VaultError.sshIdentityNotManaged(path: path)
        }
        let key = ssh.signingKey.openSSHPrivateKey()
        let bytes = try passphrase.map {
            SecureBytes(copying: try Age.encrypt(key, to: [ScryptRecipient(passphrase: $0, workFactor: workFactor)], armored: true))
        } ?? key
        let name = recordedName()
        try write(bytes, replacing: true, publicKeys: nil)
        try writeSidecar([], signing: ssh.recipient.key, name: name)
    }

    /// The first line of every sidecar coffer writes.
    static let sidecarHeading = "# public keys of the identity beside this file, written by coffer"

    /// Replaces the file's contents atomically (passwd, rotate), keeping 0600.
    /// The first identity is the one in use; any others are retired keys,
    /// kept so that older versions of secrets stay readable.
    public func replace(with identities: [X25519Identity], name: String?, passphrase: SecureBytes?, workFactor: Int) throws {
        try name.map { try Text.refuseSecretKey($0, as: "the name") }
        let contents = IdentityStore.render(identities, name: name)
        let bytes = try passphrase.map {
            SecureBytes(copying: try Age.encrypt(contents, to: [ScryptRecipient(passphrase: $0, workFactor: workFactor)], armored: true))
        } ?? contents
        // The signing key stays sealed to a key the file keeps: it needs no rewrite.
        let signing = try? openSigningKey(identities)?.key.publicKey
        try write(bytes, replacing: true, publicKeys: nil)
        try writeSidecar(identities.map(\.recipient), signing: signing, name: name)
    }

    /// The file's bytes as they are (sealed or not), to put back with `restore`.
    public func snapshot() throws -> SecureBytes { try Files.readSecret(path: path) }

    /// Puts back a snapshot. Its sidecar comes from the file's `# public key:`
    /// comments; a passphrase-protected snapshot is left without one until
    /// its keys are next shown.
    public func restore(_ snapshot: SecureBytes) throws {
        try write(snapshot, replacing: true, publicKeys: nil)
        if let keys = publicKeys() { try writeSidecar(keys) }
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

    /// Writes the identity file, then its sidecar. The old sidecar goes first,
    /// so a crash in between leaves none (shown again on the next unlock),
    /// never one naming other keys than the file holds.
    private func write(_ bytes: SecureBytes, replacing: Bool, publicKeys: [X25519Recipient]?) throws {
        // A key pasted as the path would otherwise name a new directory.
        try Text.refuseSecretKey(path, as: "the identity path")
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
        if unlink(publicKeyPath) != 0 && errno != ENOENT {
            throw VaultError.file(.write(path: publicKeyPath, errno: errno))
        }
        let file = try AtomicFileSink(path: path)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
        if let publicKeys { try writeSidecar(publicKeys) }
    }
}
