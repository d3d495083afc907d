#if canImport(Glibc)
import Glibc
#endif
import Age
import AgeSSH
import Posix

/// An OpenSSH private key sealed with its own passphrase opened by stock
/// `ssh-keygen -p`: libsodium has no bcrypt-pbkdf or AES, and coffer writes
/// no cipher of its own. The key is copied into a directory only the user can
/// enter (0700, beside the identity), `ssh-keygen` rewrites the copy without
/// a passphrase — the old one given on its stdin, never argv or the
/// environment — and the copy is read and removed at once, whatever happens.
enum SSHKeyDecryption {
    static func decrypt(_ sealed: SecureBytes, passphrase: SecureBytes, besides identityPath: String) throws -> SecureBytes {
        let parent = identityPath.contains("/") ? String(identityPath[..<identityPath.lastIndex(of: "/")!]) : "."
        try Files.makeDirectories(parent, mode: 0o700)
        // A copy a killed import left behind (only coffer makes these) goes first.
        for stale in Files.entries(of: parent) where stale.isDirectory && stale.name.hasPrefix(".coffer-import-") {
            unlink(parent + "/" + stale.name + "/key")
            rmdir(parent + "/" + stale.name)
        }
        let directory = parent + "/.coffer-import-\(getpid())"
        guard mkdir(directory, 0o700) == 0 else { throw CommandFailure("cannot create \(TerminalText.escape(directory)): \(String(cString: strerror(errno)))") }
        let copy = directory + "/key"
        defer {
            unlink(copy)
            rmdir(directory)
        }
        let file = try AtomicFileSink(path: copy, mode: 0o600)
        try sealed.withUnsafeBytes { try file.write($0) }
        try file.commit()
        let input = SecureBytes(count: passphrase.count + 1)
        input.withUnsafeMutableBytes { out in
            passphrase.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            out[passphrase.count] = 0x0A
        }
        // No DISPLAY and no askpass, and no controlling terminal (a session of
        // its own): ssh-keygen reads the old passphrase from its stdin (a pipe),
        // asks once, and fails on a wrong one. With a terminal it would ask there.
        let environment = ProcessEnvironment.entries(removing: ["DISPLAY", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE"])
        let searchPath = Array((getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin").utf8)
        let program: String
        do {
            program = String(decoding: try ProgramLaunch.locate(Array("ssh-keygen".utf8), searchPath: searchPath), as: UTF8.self)
        } catch {
            throw CommandFailure("ssh-keygen is needed to open a passphrase-protected SSH key and was not found on PATH",
                                 hint: "install openssh-client")
        }
        let argv = [program, "-q", "-p", "-N", "", "-f", copy]
        let result = try input.withUnsafeBytes { try Subprocess.run(argv, input: $0, timeout: 60, environment: environment, detached: true) }
        guard result.succeeded else {
            throw CommandFailure("ssh-keygen could not open the key with that passphrase; nothing was imported",
                                 hint: "check the key's passphrase (ssh-keygen -y -f KEY asks for it)")
        }
        return try Files.readSecretRegularFile(path: copy, limit: 64 << 10)
    }
}

