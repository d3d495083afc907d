import Foundation
import GitStore
import TestServers
import XCTest

enum TestServersPort {
    /// A loopback port nothing listens on.
    static func closed() throws -> Int { try Network.freePort() }
}

/// Transfers over ssh against Debian's sshd: agent and key-file
/// authentication, ssh:// and scp-like URLs, and host keys that must be
/// known, never accepted silently.
final class SSHTransferTests: TransferTestCase {
    func testRoundTripOverSSHURLWithAgentHeldKey() throws {
        let server = try startSSH()
        setEnvironment("SSH_AUTH_SOCK", server.agentSocket)
        let bare = try server.makeBareRepository("vault.git")
        try roundTrip(url: server.sshURL(bare), bare: bare, credentials: credentials(knownHosts: [server.knownHostsFile], agent: true))
        XCTAssertTrue(server.log.contains("Accepted publickey for \(server.user)"), server.log)
    }

    func testRoundTripOverScpLikeURLWithKeyFile() throws {
        let server = try startSSH()
        setEnvironment("SSH_AUTH_SOCK", nil)
        let bare = try server.makeBareRepository("vault.git")
        // The bracketed scp-like form is the one that carries a port.
        try roundTrip(url: server.scpURL(bare), bare: bare,
                      credentials: credentials(knownHosts: [server.knownHostsFile], keyFiles: [server.clientKeyFile]))
    }

    /// libgit2's local transport runs no hooks, so a remote's own refusal
    /// (reported per ref through push_update_reference) is tested over ssh.
    func testRemoteHookRejectionIsTypedErrorWithItsReason() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        let hook = bare + "/hooks/pre-receive"
        try "#!/bin/sh\necho 'vault is frozen' >&2\nexit 1\n".write(toFile: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        let repo = try makeRepository()
        let branch = try self.branch(repo)
        try commitFile(repo, "a.txt", "one\n")
        try repo.addRemote(name: "origin", url: server.sshURL(bare))
        let credentials = try credentials(knownHosts: [server.knownHostsFile], keyFiles: [server.clientKeyFile])
        XCTAssertThrowsError(try repo.push(remote: "origin", localBranch: branch, remoteBranch: "main", credentials: credentials)) {
            XCTAssertEqual($0 as? GitError, .pushRejected(ref: "refs/heads/main", reason: "pre-receive hook declined"))
        }
        XCTAssertNil(try bareRevParse(bare, "refs/heads/main"))
        XCTAssertNil(try gitRevParse(repo, "refs/remotes/origin/main"), "no tracking ref for a refused push")
    }

    func testUserNameDefaultsToCredentialsUser() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: "ssh://127.0.0.1:\(server.port)\(bare)")
        let result = try repo.fetch(remote: "origin", credentials: credentials(knownHosts: [server.knownHostsFile],
                                                                               keyFiles: [server.clientKeyFile], user: server.user))
        XCTAssertTrue(result.isEmpty)
    }

    func testUnknownHostKeyIsRefusedWithFingerprintAndNothingFetched() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        let source = try makeRepository("source")
        try commitFile(source, "a.txt", "one\n")
        try git(source, "push", "-q", bare, "HEAD:refs/heads/main")
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: server.sshURL(bare))
        let emptyKnownHosts = dir + "/known_hosts"
        try "".write(toFile: emptyKnownHosts, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try repo.fetch(remote: "origin", credentials: credentials(knownHosts: [emptyKnownHosts],
                                                                                       keyFiles: [server.clientKeyFile]))) { error in
            XCTAssertEqual(error as? GitError, .unknownHostKey(host: "[127.0.0.1]:\(server.port)", keyType: "ssh-ed25519",
                                                               fingerprint: server.hostKeyFingerprint, knownHostsFiles: [emptyKnownHosts]))
            XCTAssertTrue("\(error)".contains(server.hostKeyFingerprint), "\(error)")
        }
        XCTAssertNil(try gitRevParse(repo, "refs/remotes/origin/main"), "nothing fetched")
        XCTAssertFalse(server.log.contains("Accepted publickey"), "no authentication attempted: \(server.log)")
    }

    func testMismatchedHostKeyIsRefused() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: server.scpURL(bare))
        // Another ed25519 key recorded for this host, hashed as ssh writes it.
        let keygen = try TestTools.require("ssh-keygen")
        try TestTools.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", dir + "/impostor"])
        let other = try String(contentsOfFile: dir + "/impostor.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let knownHosts = dir + "/known_hosts"
        try "[127.0.0.1]:\(server.port) \(other)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        try TestTools.run([keygen, "-H", "-f", knownHosts])
        XCTAssertThrowsError(try repo.fetch(remote: "origin", credentials: credentials(knownHosts: [knownHosts],
                                                                                       keyFiles: [server.clientKeyFile]))) {
            XCTAssertEqual($0 as? GitError, .hostKeyMismatch(host: "[127.0.0.1]:\(server.port)", keyType: "ssh-ed25519",
                                                             fingerprint: server.hostKeyFingerprint, knownHostsFile: knownHosts))
        }
        // The same file hashed with the right key is accepted: hashed entries are understood.
        try FileManager.default.removeItem(atPath: knownHosts)
        try FileManager.default.copyItem(atPath: server.knownHostsFile, toPath: knownHosts)
        try TestTools.run([keygen, "-H", "-f", knownHosts])
        XCTAssertFalse(try String(contentsOfFile: knownHosts, encoding: .utf8).contains("127.0.0.1"))
        XCTAssertTrue(try repo.fetch(remote: "origin", credentials: credentials(knownHosts: [knownHosts],
                                                                                keyFiles: [server.clientKeyFile])).isEmpty)
    }

    func testUnauthorizedKeyFailsWithAuthenticationError() throws {
        let server = try startSSH()
        setEnvironment("SSH_AUTH_SOCK", nil)
        let bare = try server.makeBareRepository("vault.git")
        let keygen = try TestTools.require("ssh-keygen")
        try TestTools.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", dir + "/stranger"])
        try TestTools.run([keygen, "-q", "-t", "ed25519", "-N", "secret-passphrase", "-f", dir + "/encrypted"])
        let repo = try makeRepository()
        try repo.addRemote(name: "origin", url: server.sshURL(bare))
        let started = Date()
        XCTAssertThrowsError(try repo.fetch(remote: "origin", credentials: credentials(
            knownHosts: [server.knownHostsFile], keyFiles: [dir + "/encrypted", dir + "/absent", dir + "/stranger"], agent: true))) {
            // The encrypted key is skipped (never prompted for), the absent one too; no agent is reachable.
            XCTAssertEqual($0 as? GitError, .authenticationFailed(url: server.sshURL(bare), tried: [dir + "/stranger"]))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
    }
}
