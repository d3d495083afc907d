import Foundation
import TestServers
import XCTest

/// `coffer sync`, `coffer clone` and `coffer remote` over the network
/// transports, with the built binary: ssh:// against a local sshd with the
/// key only in an ssh-agent, smart HTTP against lighttpd + git http-backend
/// with the push password from a git credential helper. A host key the
/// known_hosts files do not list (or list differently) is refused before
/// anything is fetched; a refused password never shows.
final class SyncTransportTests: VaultE2ECase {
    private var bobVault: String { path("bob-vault") }
    private var bobHome: String { path("bob-home") }
    /// Every value set in a test: none may appear in what coffer printed
    /// (bar `get --reveal`'s standard output).
    private var values: [String] = []

    /// Bob: his own identity, HOME and clone.
    private func bob(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["COFFER_VAULT": bobVault, "COFFER_IDENTITY": path("bob.key"),
                           "HOME": bobHome, "XDG_CONFIG_HOME": bobHome + "/.config"]
        for (k, v) in extra { environment[k] = v }
        return environment
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        values = []
        try FileManager.default.createDirectory(atPath: bobHome + "/.config", withIntermediateDirectories: true)
    }

    // MARK: servers

    /// Starts a test server, stopped when the test ends. A missing tool
    /// skips locally and fails under CI=true.
    private func start<Server>(_ make: () throws -> Server, stop: @escaping (Server) -> Void,
                               file: StaticString = #filePath, line: UInt = #line) throws -> Server {
        do {
            let server = try make()
            addTeardownBlock { stop(server) }
            return server
        } catch let missing as MissingTool {
            if Tools.isCI {
                XCTFail("CI=true and \(missing); the transport tests need it", file: file, line: line)
                throw missing
            }
            throw XCTSkip("\(missing); the transport tests need it")
        }
    }

    private func startSSH() throws -> SSHServer { try start({ try SSHServer() }, stop: { $0.stop() }) }
    private func startHTTP() throws -> HTTPGitServer { try start({ try HTTPGitServer() }, stop: { $0.stop() }) }

    /// What every ssh transfer of a test gets: only the fixture's agent can
    /// authenticate (no HOME holds a key file), only `knownHosts` is trusted.
    private func sshEnvironment(_ server: SSHServer, knownHosts: String? = nil) -> [String: String] {
        ["SSH_AUTH_SOCK": server.agentSocket, "COFFER_SSH_KNOWN_HOSTS": knownHosts ?? server.knownHostsFile]
    }

    // MARK: the team

    /// A value for `tag`, remembered for the leak check.
    private func value(_ tag: String) -> String {
        let made = canary(tag)
        values.append(made)
        return made
    }

    private func set(_ id: String, _ value: String, env: [String: String] = [:]) throws {
        try cofOK(["set", id, "--stdin"], stdin: Data(value.utf8), env: env, clean: env["COFFER_VAULT"] == nil)
    }

    private func reveal(_ id: String, env: [String: String]) throws -> String {
        try cofOK(["get", id, "--reveal"], env: env, clean: false).stdoutText
    }

    /// The fingerprints of the vault's signers, by name.
    private func signerFingerprints() throws -> [String: String] {
        let json = try cofOK(["signers", "list", "-o", "json"], clean: false).stdout
        let signers = try XCTUnwrap((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["signers"] as? [[String: Any]])
        return Dictionary(signers.compactMap { s in (s["name"] as? String).map { ($0, s["fingerprint"] as? String ?? "") } }) { a, _ in a }
    }

    /// Alice's vault with three secrets, bob a reader of all and a trusted
    /// signer, `url` as origin; returns the `--signer` arguments bob pins
    /// with: alice's fingerprint (checked with her out of band) and his own.
    private func setUpAlice(url: String) throws -> [String] {
        try initVault(name: "alice")
        try cofOK(["identity", "new", "--identity", path("bob.key")], env: ["HOME": bobHome, "XDG_CONFIG_HOME": bobHome + "/.config"],
                  clean: false)
        let bobShown = try cofOK(["identity", "show"], env: bob(), clean: false).stdoutText
        let bobSigner = try XCTUnwrap(bobShown.split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init))
        try set("app/db", value("db-1"))
        try set("app/alice", value("alice-1"))
        try set("app/bob", value("bob-1"))
        try cofOK(["recipients", "add", bobShown.ageLines, "--name", "bob"])
        try cofOK(["signers", "add", bobSigner, "--name", "bob"])
        try cofOK(["remote", "add", "spare", url])
        try cofOK(["remote", "add", "origin", url])
        try cofOK(["remote", "rm", "spare"])
        let listed = try JSONSerialization.jsonObject(with: try cofOK(["remote", "list", "-o", "json"], clean: false).stdout)
        XCTAssertEqual((listed as? [String: Any])?["remotes"] as? [[String: String]], [["name": "origin", "url": url]])
        let fingerprints = try signerFingerprints()
        XCTAssertEqual(Set(fingerprints.keys), ["alice", "bob"])
        return fingerprints.values.sorted().flatMap { ["--signer", $0] }
    }

    /// The issue's round trip between alice's vault (origin `url`, empty on
    /// the server) and bob's clone of it: disjoint edits, the same id
    /// re-wrapped on one side and given a new value on the other, syncs both
    /// ways until both hold the same merged history. `bobClone` is bob's
    /// environment for the transfers that push nothing (his clone and his
    /// last sync, a fast-forward); `alreadySetUp`, bob's `--signer`
    /// arguments when the caller set alice's vault up.
    private func roundTrip(url: String, alice aliceEnv: [String: String], bob bobEnv: [String: String],
                           bobClone cloneEnv: [String: String], alreadySetUp: [String]? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let pins = try alreadySetUp ?? setUpAlice(url: url)
        try cofOK(["sync"], env: aliceEnv, clean: false)
        try assertVaultClean(after: "sync")

        let cloned = try cof(["clone", url, bobVault] + pins, env: bob(cloneEnv), clean: false)
        XCTAssertEqual(cloned.status, 0, "clone: \(cloned.stderrText)", file: file, line: line)
        guard cloned.status == 0 else { return }
        XCTAssertEqual(try reveal("app/db", env: bob()), values[0], file: file, line: line)

        // Both sides change something before either syncs.
        let carol = try cofferKeygen("carol.key")
        let aliceNew = value("alice-2"), bobNew = value("bob-2"), dbNew = value("db-2"), aliceLate = value("alice-late")
        try set("app/alice", aliceNew)
        try cofOK(["recipients", "add", carol.recipient, "--name", "carol"])  // re-wraps app/db: no new value
        try set("app/bob", bobNew, env: bob())
        try set("app/db", dbNew, env: bob())

        try cofOK(["sync"], env: aliceEnv, clean: false)           // the remote had not moved: a plain push
        try set("app/late", aliceLate)                             // alice goes on before bob's merge arrives
        let bobSync = try cofOK(["sync", "-o", "json"], env: bob(bobEnv), clean: false)  // merges alice's, pushes
        try assertVaultClean(in: bobVault, after: "bob's sync", file: file, line: line)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: bobSync.stdout) as? [String: Any], file: file, line: line)
        XCTAssertEqual(report["result"] as? String, "merged", bobSync.stdoutText, file: file, line: line)
        XCTAssertEqual(report["conflicts"] as? [String], [], file: file, line: line)
        XCTAssertTrue((report["resealed"] as? [String] ?? []).contains("app/db"), "bob's value re-sealed for carol: \(bobSync.stdoutText)",
                      file: file, line: line)
        XCTAssertEqual(report["pushed"] as? String, try head(in: bobVault), file: file, line: line)
        try cofOK(["sync"], env: aliceEnv, clean: false)           // merges bob's merge with app/late, pushes
        try assertVaultClean(after: "alice's second sync", file: file, line: line)
        try cofOK(["sync"], env: bob(cloneEnv), clean: false)      // a fast-forward: nothing to push
        try assertVaultClean(in: bobVault, after: "bob's second sync", file: file, line: line)

        XCTAssertEqual(try head(), try head(in: bobVault), "both clones end at the same commit", file: file, line: line)
        for env in [[:], bob()] {
            XCTAssertEqual(try reveal("app/alice", env: env), aliceNew, file: file, line: line)
            XCTAssertEqual(try reveal("app/bob", env: env), bobNew, file: file, line: line)
            XCTAssertEqual(try reveal("app/db", env: env), dbNew, "the value beats the re-wrap", file: file, line: line)
            XCTAssertEqual(try reveal("app/late", env: env), aliceLate, file: file, line: line)
        }
        // The merged value is sealed for the reader the re-wrap added.
        XCTAssertEqual(try ageDecrypt(sealedPath("app/db"), identity: carol.identityFile).stdoutText, dbNew, file: file, line: line)

        for directory in [vaultDir, bobVault] {
            let graph = try gitOK(["log", "--graph", "--oneline", "--all"], in: directory).stdoutText
            XCTAssertTrue(graph.contains("|\\"), "no merge in the graph of \(directory):\n\(graph)", file: file, line: line)
            let merges = try gitOK(["rev-list", "--merges", "HEAD"], in: directory).stdoutText.split(separator: "\n")
            XCTAssertEqual(merges.count, 2, "bob's merge and alice's: \(graph)", file: file, line: line)
        }
        for env in [[:], bob()] {
            try cofOK(["verify"], env: env, clean: false)
            let history = try cof(["verify", "--history", "-o", "json"], env: env, clean: false)
            let log = try gitOK(["log", "--graph", "--format=%h %G? %s"], in: env["COFFER_VAULT"] ?? vaultDir).stdoutText
            XCTAssertEqual(history.status, 0, "verify --history in \(env["COFFER_VAULT"] ?? vaultDir): \(history.stdoutText) \(history.stderrText)\n"
                           + log, file: file, line: line)
        }
    }

    /// No value appears in what a coffer command printed (standard output of
    /// `get --reveal` aside), nor anything in `extra` (a password).
    private func assertNothingLeaked(extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(cofferResults.isEmpty, file: file, line: line)
        for result in cofferResults {
            for needle in values + extra {
                let bytes = Data(needle.utf8)
                if !result.command.contains("--reveal") || extra.contains(needle) {
                    assertDoesNotContain(result.stdout, bytes, "\(needle.prefix(16))… on stdout of \(result.command)", file: file, line: line)
                }
                assertDoesNotContain(result.stderr, bytes, "\(needle.prefix(16))… on stderr of \(result.command)", file: file, line: line)
            }
        }
    }

    // MARK: ssh

    func testRoundTripOverSSHWithAgentHeldKey() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        XCTAssertFalse(fileExists(homeDir + "/.ssh") || fileExists(bobHome + "/.ssh"), "a key file could authenticate")
        let ssh = sshEnvironment(server)
        try roundTrip(url: server.sshURL(bare), alice: ssh, bob: ssh, bobClone: ssh)
        // The agent's key logged in; it is the only one the server saw.
        let agentKey = try run(try requireTool("ssh-add"), ["-l"], environment: ["SSH_AUTH_SOCK": server.agentSocket]).stdoutText
        let agentFingerprint = try XCTUnwrap(agentKey.split(separator: " ").dropFirst().first.map(String.init), agentKey)
        let accepted = server.log.split(separator: "\n").filter { $0.contains("Accepted publickey for \(server.user)") }
        XCTAssertFalse(accepted.isEmpty, server.log)
        XCTAssertTrue(accepted.allSatisfy { $0.contains(agentFingerprint) }, "a key other than the agent's: \(accepted)")
        XCTAssertEqual(try gitOK(["--git-dir", bare, "rev-parse", "refs/heads/" + branchName()], in: path("")).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines), try head(), "the server holds the merged head")
        assertNothingLeaked()
    }

    /// An unknown host key, and a wrong key recorded for the host: sync and
    /// clone exit non-zero naming the server key's SHA256 fingerprint;
    /// nothing is fetched, pushed or cloned, no local ref moves.
    func testUnknownOrWrongHostKeyIsRefused() throws {
        let server = try startSSH()
        let bare = try server.makeBareRepository("vault.git")
        let url = server.sshURL(bare)
        let keygen = try requireTool("ssh-keygen")
        let fingerprint = try XCTUnwrap(try succeed(keygen, ["-lf", server.directory + "/host_ed25519.pub"]).stdoutText
            .split(separator: " ").dropFirst().first.map(String.init))
        XCTAssertTrue(fingerprint.hasPrefix("SHA256:"), fingerprint)

        let empty = try write("known_hosts.empty", "")
        try succeed(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", path("impostor")])
        let impostor = try String(contentsOfFile: path("impostor.pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let wrong = try write("known_hosts.wrong", "[127.0.0.1]:\(server.port) \(impostor)\n")

        try initVault(name: "alice")
        try set("app/db", value("db"))
        try cofOK(["remote", "add", "origin", url])
        let refs = try gitOK(["for-each-ref"]).stdoutText
        for (knownHosts, what) in [(empty, "unknown"), (wrong, "changed")] {
            let before = snapshot()
            let refused = try cof(["sync"], env: sshEnvironment(server, knownHosts: knownHosts))
            assertCofferError(refused)
            XCTAssertTrue(refused.stderrText.contains(fingerprint), "\(what) host key: \(refused.stderrText)")
            assertSameSnapshot(before, snapshot(), "a sync refused for an \(what) host key")
            XCTAssertEqual(try gitOK(["for-each-ref"]).stdoutText, refs, "local refs moved")
            XCTAssertEqual(try gitOK(["--git-dir", bare, "for-each-ref"], in: path("")).stdoutText, "", "something was pushed")
        }
        XCTAssertFalse(server.log.contains("Accepted publickey"), "authenticated to an unverified host: \(server.log)")

        // The same sync with the server's key known goes through.
        try cofOK(["sync"], env: sshEnvironment(server), clean: false)
        XCTAssertEqual(try gitOK(["--git-dir", bare, "rev-parse", "refs/heads/" + branchName()], in: path("")).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines), try head())

        // A fetch that would bring something new is refused the same way.
        let other = path("other")
        try gitOK(["clone", "-q", bare, other], in: path(""))
        try write("other/README", "moved on\n")
        try gitOK(["add", "README"], in: other)
        try gitOK(["-c", "user.name=O", "-c", "user.email=o@example.com", "commit", "-q", "-m", "moved on"], in: other)
        try gitOK(["push", "-q", "origin", "HEAD"], in: other)
        let refsAfterPush = try gitOK(["for-each-ref"]).stdoutText
        let refused = try cof(["sync"], env: sshEnvironment(server, knownHosts: wrong))
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains(fingerprint), refused.stderrText)
        XCTAssertEqual(try gitOK(["for-each-ref"]).stdoutText, refsAfterPush, "a refused fetch moved a ref")

        for (knownHosts, what) in [(empty, "unknown"), (wrong, "changed")] {
            let target = path("clone-\(what)")
            let refusedClone = try cof(["clone", url, target, "--signer", fingerprint], env: bob(sshEnvironment(server, knownHosts: knownHosts)),
                                       clean: false)
            assertCofferError(refusedClone)
            XCTAssertTrue(refusedClone.stderrText.contains(fingerprint), "\(what) host key: \(refusedClone.stderrText)")
            XCTAssertFalse(fileExists(target), "a refused clone left \(target) behind")
        }
        // Cloning into an empty directory that existed leaves it, empty.
        let existing = path("clone-existing")
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false)
        assertCofferError(try cof(["clone", url, existing], env: bob(sshEnvironment(server, knownHosts: empty)), clean: false))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing), [])
        assertNothingLeaked()
    }

    /// A remote with nothing pushed yet, or a repository that is no vault:
    /// clone refuses it and leaves no directory (a path URL, no server).
    func testCloneOfARemoteHoldingNoVaultLeavesNothing() throws {
        let empty = path("empty.git"), plain = path("plain")
        try gitOK(["init", "-q", "--bare", empty], in: path(""))
        try gitOK(["init", "-q", plain], in: path(""))
        try write("plain/README", "not a vault\n")
        try gitOK(["add", "README"], in: plain)
        try gitOK(["-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "-q", "-m", "readme"], in: plain)
        for source in [empty, plain] {
            let target = path("cloned")
            let refused = try cof(["clone", source, target], env: bob(), clean: false)
            assertCofferError(refused)
            XCTAssertTrue(refused.stderrText.contains("holds no coffer vault"), refused.stderrText)
            XCTAssertFalse(fileExists(target), "a refused clone of \(source) left \(target) behind")
        }
    }

    /// The branch alice's vault is on.
    private func branchName() throws -> String {
        try gitOK(["symbolic-ref", "--short", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: smart HTTP

    /// Fetch and clone need no password; a push gets it from the `store`
    /// credential helper a test-only GIT_CONFIG_GLOBAL names. A wrong one
    /// fails cleanly, never shown; the right one then works.
    func testRoundTripOverSmartHTTPWithCredentialHelper() throws {
        let server = try startHTTP()
        let bare = try server.makeBareRepository("vault.git")
        let url = server.url("vault.git")
        let store = path("git-credentials"), config = path("gitconfig")
        try write("gitconfig", "[credential]\n\thelper = store --file=\(store)\n")
        let wrongPassword = "wrong-" + UUID().uuidString.prefix(12)
        try write("git-credentials", "http://\(server.user):\(wrongPassword)@127.0.0.1:\(server.port)\n")
        let helper = ["GIT_CONFIG_GLOBAL": config]

        let pins = try setUpAlice(url: url)
        let refs = try gitOK(["for-each-ref"]).stdoutText
        let refused = try cof(["sync"], env: helper)
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("127.0.0.1:\(server.port)"), "which server refused: \(refused.stderrText)")
        XCTAssertEqual(try gitOK(["for-each-ref"]).stdoutText, refs, "local refs moved")
        XCTAssertEqual(try gitOK(["--git-dir", bare, "for-each-ref"], in: path("")).stdoutText, "", "something was pushed")
        XCTAssertFalse(try String(contentsOfFile: store, encoding: .utf8).contains(wrongPassword), "the refused password was not erased")

        try write("git-credentials", "http://\(server.user):\(server.password)@127.0.0.1:\(server.port)\n")
        // alice pushes with the helper; bob clones and fetches with no
        // credential at all, and pushes with the helper.
        let noHelper = ["GIT_CONFIG_GLOBAL": "/dev/null"]
        try roundTrip(url: url, alice: helper, bob: helper, bobClone: noHelper, alreadySetUp: pins)
        assertNothingLeaked(extra: [wrongPassword, server.password])
    }
}
