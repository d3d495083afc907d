import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Age
@testable import SSHSig
import CofferAgent

/// `coffer agent`: one unlock serves a session's commands, the keys go when
/// the idle TTL does, only the agent's own user is served (SO_PEERCRED and
/// a private socket directory), and neither the disk nor the socket's
/// traffic ever holds a private key.
final class AgentTests: VaultE2ECase {
    private let passphrase = "the agent's test passphrase"
    private var passphraseFile: String { path("pw") }
    private var runDir: String { path("run") }
    private var socket: String { runDir + "/agent.sock" }
    private var agentEnv: [String: String] { ["COFFER_AGENT_SOCK": socket] }
    /// Every agent a test started, killed in tearDown whatever happened.
    private var started: [pid_t] = []
    private var extraDirectories: [String] = []
    private var testStart = Date()

    override func setUpWithError() throws {
        try super.setUpWithError()
        testStart = Date(timeIntervalSinceNow: -1)
        try write("pw", passphrase + "\n")
        XCTAssertEqual(mkdir(runDir, 0o700), 0)
        try cofOK(["identity", "new", "--protect", "--passphrase-file", passphraseFile, "--name", "alice"])
        try cofOK(["init", vaultDir, "--name", "alice", "--passphrase-file", passphraseFile])
    }

    override func tearDownWithError() throws {
        for pid in started { kill(pid, SIGKILL) }
        for directory in extraDirectories { try? FileManager.default.removeItem(atPath: directory) }
        try super.tearDownWithError()
    }

    // MARK: helpers

    /// Starts `coffer agent` in the background with the passphrase file (for
    /// `identity`, else the default identity); its pid.
    @discardableResult
    private func startAgent(ttl: String = "15m", identity: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
        let arguments = ["agent", "--ttl", ttl, "--passphrase-file", passphraseFile] + (identity.map { ["--identity", $0] } ?? [])
        let result = try cofOK(arguments, env: agentEnv, file: file, line: line)
        XCTAssertEqual(result.stdoutText, "export COFFER_AGENT_SOCK='\(socket)'\n", file: file, line: line)
        let pid = try agentStatus(file: file, line: line).pid
        started.append(pid)
        XCTAssertTrue(isRunning(pid), "agent \(pid) is not running", file: file, line: line)
        return pid
    }

    /// `coffer agent --status`, parsed.
    private func agentStatus(file: StaticString = #filePath, line: UInt = #line) throws -> (pid: pid_t, lines: [String: String]) {
        let shown = try cofOK(["agent", "--status"], env: agentEnv, file: file, line: line).stdoutText
        var lines: [String: String] = [:]
        for entry in shown.split(separator: "\n") {
            guard let colon = entry.firstIndex(of: ":") else { continue }
            lines[String(entry[..<colon]), default: ""] += String(entry[entry.index(colon, offsetBy: 2)...])
        }
        guard let pid = lines["pid"].flatMap({ pid_t($0) }) else { throw TestSetupError("no pid in: \(shown)") }
        return (pid, lines)
    }

    /// A program's stdout through a pipe (never a file: it may be a key).
    private func capture(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: coffer)
        process.arguments = arguments
        process.environment = vaultEnvironment(["COFFER_TEST_SCRYPT_WORK_FACTOR": CLITestCase.testWorkFactor])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError("coffer \(arguments) exited \(process.terminationStatus)") }
        return data
    }

    /// The identity's X25519 key and signing key in every form they could leak in.
    private func secretForms() throws -> SecretForms {
        var forms = SecretForms()
        let plain = String(decoding: try capture(["age", "decrypt", "--passphrase-file", passphraseFile, identityFile]), as: UTF8.self)
        let bech32 = try XCTUnwrap(plain.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init))
        let (_, raw) = try XCTUnwrap(Bech32.decode(bech32))
        forms.add("the identity's key (Bech32)", text: bech32)
        forms.add("the identity's key", raw: raw.withUnsafeBytes { Array($0) })
        let pem = try capture(["age", "decrypt", "-i", identityFile, "--passphrase-file", passphraseFile, identityFile + ".signing"])
        let signing = try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(pem)))
        let secret = signing.secretKey.withUnsafeBytes { Array($0) }
        forms.add("the signing key's seed", raw: Array(secret[0..<32]))
        forms.add("the signing key's secret", raw: secret)
        XCTAssertEqual(forms.found(in: Data(raw.withUnsafeBytes { Array($0) })), ["the identity's key (raw)"], "the forms find what they should")
        return forms
    }

    private func assertSignedHead(after before: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let commit = try head(file: file, line: line)
        XCTAssertNotEqual(commit, before, "\(what) made no commit", file: file, line: line)
        let verified = try git(["verify-commit", commit], file: file, line: line)
        XCTAssertEqual(verified.status, 0, "\(what): git verify-commit: \(verified.stderrText)", file: file, line: line)
        let shown = try gitOK(["log", "--show-signature", "-1", commit], file: file, line: line).stdoutText
        XCTAssertTrue(shown.contains("Good \"git\" signature for "), "\(what): \(shown)", file: file, line: line)
    }

    /// Fails when a coffer command asks for a passphrase and finds none to read.
    private func assertAskedForPassphrase(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "\(result.command) succeeded without the agent or a passphrase", file: file, line: line)
        XCTAssertTrue(result.stderrText.contains("no terminal to read a passphrase from"), result.stderrText, file: file, line: line)
    }

    // MARK: one unlock per session

    func testOneUnlockServesTwentyReadsAndFiveSignedWritesWithoutAPassphrase() throws {
        try cofOK(["set", "s0=v0", "s1=v1", "s2=v2", "s3=v3", "s4=v4", "--passphrase-file", passphraseFile])
        // Without an agent, no terminal and no passphrase file: nothing opens.
        assertAskedForPassphrase(try cof(["get", "s0", "--reveal"], env: agentEnv))

        try startAgent()
        for n in 0..<20 {
            let value = try cofOK(["get", "s\(n % 5)", "--reveal"], env: agentEnv)
            XCTAssertEqual(value.stdoutText, "v\(n % 5)")
            XCTAssertFalse(value.stderrText.contains("assphrase"), value.stderrText)
        }
        for n in 0..<5 {
            let before = try head()
            // s0..s4 exist: each set reads the old value (to compare) and signs its commit.
            try cofOK(["set", "s\(n)=w\(n)"], env: agentEnv)
            try assertSignedHead(after: before, "set s\(n)")
        }
        XCTAssertEqual(try cofOK(["get", "s4", "--reveal"], env: agentEnv).stdoutText, "w4")
        // coffer's own check of the signed history, and of every secret, through the agent.
        try cofOK(["verify", "--history"], env: agentEnv)
        let verified = try cofOK(["verify"], env: agentEnv)
        XCTAssertTrue((verified.stdoutText + verified.stderrText).contains("checked 5 secrets (5 decrypted"), verified.stderrText)
    }

    func testTheIdleTTLEndsTheAgentAndCommandsAskAgain() throws {
        try cofOK(["set", "s=1", "--passphrase-file", passphraseFile])
        let pid = try startAgent(ttl: "2s")
        // Each use restarts the 2 s: 3.5 s of use in all keeps it serving.
        for _ in 0..<3 {
            XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: agentEnv).stdoutText, "1")
            usleep(1_200_000)
        }
        XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: agentEnv).stdoutText, "1")
        XCTAssertTrue(waitUntil(10) { !isRunning(pid) && !fileExists(socket) }, "the agent outlived its TTL")
        XCTAssertFalse(isRunning(pid), "agent \(pid) still runs")
        XCTAssertFalse(fileExists(socket), "its socket is left")

        assertAskedForPassphrase(try cof(["get", "s", "--reveal"], env: agentEnv))
        XCTAssertEqual(try cofOK(["get", "s", "--reveal", "--passphrase-file", passphraseFile], env: agentEnv).stdoutText, "1")
        let status = try cof(["agent", "--status"], env: agentEnv)
        assertCofferError(status)
        XCTAssertTrue(status.stderrText.contains("no agent is running"), status.stderrText)
    }

    // MARK: status, stop, signals

    func testStatusStopAndASecondAgent() throws {
        let none = try cof(["agent", "--status"], env: agentEnv)
        assertCofferError(none)
        XCTAssertEqual(none.stderrText, "coffer: error: no agent is running on \(socket)\n")

        let pid = try startAgent()
        let status = try agentStatus()
        XCTAssertEqual(status.lines["identity"], identityFile)
        XCTAssertEqual(status.lines["key"], try publicKey())
        XCTAssertEqual(status.lines["signing key"], try SSHEd25519PublicKey(parsingAuthorizedKey: try signingKeyLine()).fingerprint)
        XCTAssertTrue(status.lines["idle timeout"]?.hasPrefix("15m, ") == true, "\(status.lines)")

        let second = try cof(["agent", "--passphrase-file", passphraseFile], env: agentEnv)
        assertCofferError(second)
        XCTAssertTrue(second.stderrText.contains("an agent is already running (pid \(pid)) on \(socket)"), second.stderrText)
        XCTAssertTrue(isRunning(pid))

        let stopped = try cofOK(["agent", "--stop"], env: agentEnv)
        XCTAssertTrue(stopped.stderrText.contains("stopped the agent (pid \(pid))"), stopped.stderrText)
        XCTAssertTrue(waitUntil(5) { !isRunning(pid) }, "agent \(pid) still runs after --stop")
        XCTAssertFalse(fileExists(socket))
        assertAskedForPassphrase(try cof(["get", "x", "--reveal"], env: agentEnv))
        assertCofferError(try cof(["agent", "--stop"], env: agentEnv))

        // SIGTERM: the same clean end.
        let next = try startAgent()
        kill(next, SIGTERM)
        XCTAssertTrue(waitUntil(5) { !isRunning(next) && !fileExists(socket) }, "SIGTERM left the agent or its socket")
    }

    /// The agent signs for git and bundles only; a batch of headers is answered header by header.
    func testTheAgentSignsOnlyItsNamespacesAndAnswersBatches() throws {
        try startAgent()
        let client = try XCTUnwrap(try AgentClient.connect(to: socket))
        let keys = try client.publicKeys()
        let signingKey = try XCTUnwrap(keys.signingKey)
        for namespace in ["git", "coffer-bundle"] {
            let signature = try client.sign(Array("message".utf8), namespace: namespace)
            XCTAssertEqual(try SSHSignature.verify(signature, message: Array("message".utf8), namespace: namespace), signingKey)
        }
        for namespace in ["file", "ssh-connection", "gitx", ""] {
            XCTAssertThrowsError(try client.sign(Array("message".utf8), namespace: namespace), namespace) { error in
                guard case AgentError.declined(let reason)? = error as? AgentError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("signs only for the namespaces coffer-bundle, git"), reason)
            }
        }
        guard case .x25519(let mine)? = keys.readers.first else { return XCTFail("no X25519 key: \(keys.readers)") }
        let fileKeys = (0..<3).map { _ in SecureBytes.random(count: 16) }
        var headers = try fileKeys.map { try mine.wrap(fileKey: $0) }
        headers.append(try X25519Identity.generate().recipient.wrap(fileKey: .random(count: 16)))
        let results = try client.unwrap(headers, with: nil)
        XCTAssertEqual(results.count, 4)
        for (result, expected) in zip(results, fileKeys) {
            guard case .fileKey(let key) = result else { XCTFail("not opened: \(result)"); continue }
            XCTAssertTrue(key.constantTimeEquals(expected))
        }
        guard case .notMine = results[3] else { return XCTFail("another key's stanza was opened") }
    }

    // MARK: whom it serves

    /// An agent run as nobody refuses root: root passes any file mode, so
    /// only SO_PEERCRED stands in the way.
    func testAnAgentOfAnotherUserRefusesTheConnection() throws {
        guard getuid() == 0 else {
            if Tools.isCI { XCTFail("CI=true but not root: running an agent as uid 65534 needs root") }
            throw XCTSkip("running an agent as uid 65534 needs root")
        }
        let setpriv = try requireTool("setpriv")
        try cofOK(["set", "s=1", "--passphrase-file", passphraseFile])
        // A place nobody owns, which it can reach: a fresh directory under /tmp (the test's own is root's, 0700).
        var template = Array("/tmp/coffer-agent-peer-XXXXXX".utf8CString)
        let outer = String(cString: try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        extraDirectories.append(outer)
        XCTAssertEqual(chmod(outer, 0o711), 0)
        let home = outer + "/nobody", run = home + "/run", sock = run + "/agent.sock"
        XCTAssertEqual(mkdir(home, 0o700), 0)
        XCTAssertEqual(mkdir(run, 0o700), 0)
        for suffix in ["", ".pub", ".signing"] {
            try FileManager.default.copyItem(atPath: identityFile + suffix, toPath: home + "/identity" + suffix)
        }
        try FileManager.default.copyItem(atPath: passphraseFile, toPath: home + "/pw")
        try FileManager.default.copyItem(atPath: coffer, toPath: outer + "/coffer")
        for item in ["", "/run", "/identity", "/identity.pub", "/identity.signing", "/pw"] {
            XCTAssertEqual(chown(home + item, 65534, 65534), 0, item)
        }

        let log = path("nobody-agent.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: setpriv)
        agent.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", outer + "/coffer", "agent", "--foreground",
                           "--identity", home + "/identity", "--passphrase-file", home + "/pw"]
        agent.environment = ["HOME": home, "COFFER_AGENT_SOCK": sock, "PATH": "/usr/bin:/bin", "COFFER_TEST_SCRYPT_WORK_FACTOR": "10"]
        agent.standardInput = FileHandle.nullDevice
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = logHandle
        try agent.run()
        defer { agent.terminate(); agent.waitUntilExit(); try? logHandle.close() }
        XCTAssertTrue(waitUntil(20) { fileExists(sock) }, "the agent as nobody did not start")
        var info = stat()
        XCTAssertEqual(lstat(sock, &info), 0)
        XCTAssertEqual(info.st_uid, 65534, "the socket is nobody's")

        // Control: our own agent answers the same hello on the same kind of connection.
        try startAgent()
        let hello: [UInt8] = [0, 0, 0, 2, AgentProtocol.version, 1]
        let own = try XCTUnwrap(UnixSocket.connect(socket))
        XCTAssertTrue(UnixSocket.send(own, hello))
        let answer = UnixSocket.readAllFrame(own)
        close(own)
        XCTAssertGreaterThan(answer.count, 6, "our own agent did not answer hello")
        XCTAssertEqual(Array(answer.prefix(6).suffix(2)), [AgentProtocol.version, 0x81], "not a status answer")

        // Root connects (the socket's mode does not stop root) and is closed on, unanswered.
        let fd = try XCTUnwrap(UnixSocket.connect(sock), "root could not connect at all")
        _ = UnixSocket.send(fd, hello)
        let refused = UnixSocket.readAll(fd)
        close(fd)
        XCTAssertEqual(refused.count, 0, "the agent of uid 65534 answered root")
        let agentLog = { String(decoding: (try? self.read("nobody-agent.log")) ?? Data(), as: UTF8.self) }
        XCTAssertTrue(waitUntil(5) { agentLog().contains("coffer: agent: refused a connection from uid 0") }, agentLog())

        // Through coffer: with the directory and socket made root's (so the client's own
        // checks pass), the agent still refuses, and the command goes on without it.
        XCTAssertEqual(chown(run, 0, 0), 0)
        let notOurs = try cof(["get", "s", "--reveal", "--identity", identityFile], env: ["COFFER_AGENT_SOCK": sock])
        assertCofferError(notOurs)
        XCTAssertTrue(notOurs.stderrText.contains("the agent socket \(sock) belongs to uid 65534, not you (0)"), notOurs.stderrText)
        XCTAssertEqual(chown(sock, 0, 0), 0)
        let fallback = try cof(["get", "s", "--reveal", "--identity", identityFile], env: ["COFFER_AGENT_SOCK": sock])
        assertAskedForPassphrase(fallback)
        XCTAssertTrue(fallback.stderrText.contains("coffer: warning: the agent at \(sock) refused this connection"), fallback.stderrText)
        XCTAssertEqual(try cofOK(["get", "s", "--reveal", "--passphrase-file", passphraseFile], env: ["COFFER_AGENT_SOCK": sock]).stdoutText, "1")
    }

    func testASocketDirectoryOthersCouldUseIsRefused() throws {
        try cofOK(["set", "s=1", "--passphrase-file", passphraseFile])
        try startAgent()
        XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: agentEnv).stdoutText, "1")

        XCTAssertEqual(chmod(runDir, 0o755), 0)
        let open = try cof(["get", "s", "--reveal"], env: agentEnv)
        assertCofferError(open)
        XCTAssertTrue(open.stderrText.contains("the agent's socket directory \(runDir) is mode 755: not a private directory of yours"),
                      open.stderrText)
        XCTAssertTrue(open.stdout.isEmpty)
        XCTAssertEqual(chmod(runDir, 0o700), 0)
        XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: agentEnv).stdoutText, "1")

        if getuid() == 0 {
            XCTAssertEqual(chown(runDir, 65534, 65534), 0)
            let foreign = try cof(["get", "s", "--reveal"], env: agentEnv)
            assertCofferError(foreign)
            XCTAssertTrue(foreign.stderrText.contains("is owned by uid 65534, not you (0), mode 700"), foreign.stderrText)
            XCTAssertEqual(chown(runDir, 0, 0), 0)
        } else if Tools.isCI {
            XCTFail("CI=true but not root: a directory of another owner cannot be made")
        }

        // The agent itself will not start in such a directory.
        let loose = path("loose")
        XCTAssertEqual(mkdir(loose, 0o755), 0)
        let refused = try cof(["agent", "--passphrase-file", passphraseFile], env: ["COFFER_AGENT_SOCK": loose + "/agent.sock"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("the agent's socket directory \(loose) is mode 755"), refused.stderrText)
        XCTAssertFalse(fileExists(loose + "/agent.sock"))

        // Something that is not a socket where the socket goes.
        let fake = path("fake")
        XCTAssertEqual(mkdir(fake, 0o700), 0)
        try write("fake/agent.sock", "not a socket")
        let notSocket = try cof(["get", "s", "--reveal"], env: ["COFFER_AGENT_SOCK": fake + "/agent.sock"])
        assertCofferError(notSocket)
        XCTAssertTrue(notSocket.stderrText.contains("\(fake)/agent.sock is not a socket"), notSocket.stderrText)
    }

    // MARK: no key on disk, none on the wire

    func testAKilledOrStoppedAgentLeavesNoKeyOnDisk() throws {
        let forms = try secretForms()
        try cofOK(["set", "s=1", "--passphrase-file", passphraseFile])
        // The search finds a key where there is one.
        let planted = path("planted")
        try forms.forms[forms.forms.count / 2].bytes.write(to: URL(fileURLWithPath: planted))
        XCTAssertEqual(filesChanged(under: [dir.path], since: testStart).filter { !forms.found(in: $0.data).isEmpty }.map(\.path), [planted])
        unlink(planted)

        for ending in ["--stop", "kill -9"] {
            let pid = try startAgent()
            let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            let core = try XCTUnwrap(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
            XCTAssertEqual(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first, "0", "\(core)")
            XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: agentEnv).stdoutText, "1")
            try cofOK(["set", "t=\(ending)"], env: agentEnv)
            if ending == "kill -9" { kill(pid, SIGKILL) } else { try cofOK(["agent", "--stop"], env: agentEnv) }
            XCTAssertTrue(waitUntil(5) { !isRunning(pid) }, "agent \(pid) survived \(ending)")

            // The test's directory (HOME, the vault, the socket's directory) is under /tmp too.
            let files = filesChanged(under: [runDir, homeDir, "/tmp"], since: testStart)
            XCTAssertFalse(files.isEmpty)
            for (file, data) in files {
                XCTAssertEqual(forms.found(in: data), [], "after \(ending): \(file) holds a key")
            }
            // core_pattern is `core` unless a system says otherwise: one in the agent's directory (/ once detached) or ours.
            let cores = ["/", dir.path, homeDir, runDir].flatMap { place in
                ((try? FileManager.default.contentsOfDirectory(atPath: place)) ?? []).filter { $0 == "core" || $0.hasPrefix("core.") }
                    .map { place + "/" + $0 }
            }
            XCTAssertEqual(cores, [], "after \(ending)")
        }
        // The killed agent's socket was left; the next command removed it and went on without it.
        XCTAssertTrue(fileExists(socket), "kill -9 left no socket to find dead")
        assertAskedForPassphrase(try cof(["get", "s", "--reveal"], env: agentEnv))
        XCTAssertFalse(fileExists(socket), "the dead agent's socket is still there")
    }

    func testRecordedSocketTrafficHoldsNoPrivateKey() throws {
        let forms = try secretForms()
        try cofOK(["set", "s=1", "--passphrase-file", passphraseFile])
        try startAgent()
        let proxyDir = path("proxy")
        XCTAssertEqual(mkdir(proxyDir, 0o700), 0)
        let proxy = try RecordingProxy(path: proxyDir + "/agent.sock", upstream: socket)
        defer { proxy.stop() }
        let through = ["COFFER_AGENT_SOCK": proxy.path]
        for _ in 0..<3 { XCTAssertEqual(try cofOK(["get", "s", "--reveal"], env: through).stdoutText, "1") }
        for n in 0..<2 {
            let before = try head()
            try cofOK(["set", "s=\(n + 2)"], env: through)
            try assertSignedHead(after: before, "set through the proxy")
        }
        let bundleKey = try cofferKeygen("bundle.key")
        try cofOK(["export", "/", "--to", bundleKey.recipient, "-o", path("out.bundle")], env: through, clean: false)

        let recording = proxy.recording
        // What should pass did: stanzas, the public key, signatures for both namespaces.
        for expected in ["X25519", try publicKey(), "-----BEGIN SSH SIGNATURE-----", "coffer-bundle", "git", identityFile] {
            XCTAssertNotNil(recording.range(of: Data(expected.utf8)), "the recording lacks \(expected)")
        }
        XCTAssertGreaterThan(recording.count, 1000)
        XCTAssertEqual(forms.found(in: recording), [], "the socket carried a private key")
    }
}

extension AgentTests {
    // MARK: an SSH identity

    /// An SSH key made by ssh-keygen, imported as a coffer identity sealed
    /// with coffer's passphrase, and a vault of its own whose one reader and
    /// signer it is: what an SSH user's session through the agent needs.
    private struct SSHSession {
        let key: String, publicLine: String, identity: String, vault: String
        let env: [String: String]
    }

    private func sshSession(file: StaticString = #filePath, line: UInt = #line) throws -> SSHSession {
        let keygen = try requireTool("ssh-keygen", file: file, line: line)
        let key = path("carol")
        try succeed(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "carol@laptop", "-f", key], file: file, line: line)
        let publicLine = try String(contentsOfFile: key + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let identity = path("home/carol-identity/id"), vault = path("carol-vault")
        let env = ["COFFER_AGENT_SOCK": socket, "COFFER_VAULT": vault, "COFFER_IDENTITY": identity]
        try cofOK(["identity", "import", "--ssh", key, "--identity", identity, "--passphrase-file", passphraseFile], file: file, line: line)
        XCTAssertTrue(try String(contentsOfFile: identity, encoding: .utf8).hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----"),
                      "the imported key is not sealed with coffer's passphrase", file: file, line: line)
        try cofOK(["init", vault, "--name", "carol", "--passphrase-file", passphraseFile], env: env, file: file, line: line)
        for list in [".recipients", ".signers"] {
            let text = try String(contentsOfFile: vault + "/" + list, encoding: .utf8)
            XCTAssertTrue(text.contains(publicLine), "\(list): \(text)", file: file, line: line)
        }
        return SSHSession(key: key, publicLine: publicLine, identity: identity, vault: vault, env: env)
    }

    /// The SSH private key in every form it could leak in: its seed and
    /// 64-byte secret, its X25519 scalar, and the OpenSSH PEM file's text.
    private func sshSecretForms(_ key: String) throws -> SecretForms {
        var forms = SecretForms()
        let pem = try String(contentsOfFile: key, encoding: .utf8)
        let signing = try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(pem.utf8)))
        let secret = signing.secretKey.withUnsafeBytes { Array($0) }
        forms.add("the SSH key's seed", raw: Array(secret[0..<32]))
        forms.add("the SSH key's secret", raw: secret)
        forms.add("the SSH key's X25519 scalar", raw: signing.curve25519SecretKey().withUnsafeBytes { Array($0) })
        forms.add("the PEM's first line", text: "-----BEGIN OPENSSH PRIVATE KEY-----")
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }
        XCTAssertGreaterThan(body.count, 3, pem.count.description)
        for (n, text) in body.enumerated() where text.count >= 16 { forms.add("the PEM's line \(n + 2)", text: String(text)) }
        XCTAssertTrue(forms.found(in: Data(pem.utf8)).contains("the PEM's line 3"), "the forms find the PEM")
        XCTAssertEqual(forms.found(in: Data(secret[0..<32])), ["the SSH key's seed (raw)"], "the forms find what they should")
        return forms
    }

    func testAnImportedSSHIdentityUnlockedOnceServesReadsAndSignedWritesAndItsKeyNeverCrossesTheSocket() throws {
        let carol = try sshSession()
        let forms = try sshSecretForms(carol.key)
        try cofOK(["set", "s0=v0", "s1=v1", "s2=v2", "--passphrase-file", passphraseFile], env: carol.env)
        // Protected: without the agent, no terminal and no passphrase file, nothing opens.
        assertAskedForPassphrase(try cof(["get", "s0", "--reveal"], env: carol.env))

        try startAgent(identity: carol.identity)
        let status = try agentStatus()
        XCTAssertEqual(status.lines["identity"], carol.identity)
        XCTAssertEqual(status.lines["key"], carol.publicLine, "the SSH key is the reader it holds")
        XCTAssertEqual(status.lines["signing key"], try SSHEd25519PublicKey(parsingAuthorizedKey: carol.publicLine).fingerprint,
                       "an SSH identity signs as itself")

        let proxyDir = path("proxy")
        XCTAssertEqual(mkdir(proxyDir, 0o700), 0)
        let proxy = try RecordingProxy(path: proxyDir + "/agent.sock", upstream: socket)
        defer { proxy.stop() }
        var through = carol.env
        through["COFFER_AGENT_SOCK"] = proxy.path
        for n in 0..<6 {
            let value = try cofOK(["get", "s\(n % 3)", "--reveal"], env: through)
            XCTAssertEqual(value.stdoutText, "v\(n % 3)")
            XCTAssertFalse(value.stderrText.contains("assphrase"), value.stderrText)
        }
        for n in 0..<3 {
            let before = try head(in: carol.vault)
            try cofOK(["set", "s\(n)=w\(n)"], env: through)
            let commit = try head(in: carol.vault)
            XCTAssertNotEqual(commit, before, "set s\(n) made no commit")
            // Stock git, trusting the vault's .signers: the SSH key signed it.
            let verified = try git(["-c", "gpg.ssh.allowedSignersFile=.signers", "verify-commit", commit], in: carol.vault)
            XCTAssertEqual(verified.status, 0, "set s\(n): \(verified.stderrText)")
            XCTAssertTrue(verified.stderrText.contains("Good \"git\" signature for carol"), verified.stderrText)
        }
        XCTAssertEqual(try cofOK(["get", "s2", "--reveal"], env: through).stdoutText, "w2")
        try cofOK(["verify", "--history"], env: through)

        let recording = proxy.recording
        // What should pass did: ssh-ed25519 stanzas, the public key, signatures, the identity's path.
        for expected in ["ssh-ed25519", carol.publicLine, "-----BEGIN SSH SIGNATURE-----", "git", carol.identity] {
            XCTAssertNotNil(recording.range(of: Data(expected.utf8)), "the recording lacks \(expected)")
        }
        XCTAssertNil(recording.range(of: Data("X25519".utf8)), "an SSH identity's vault has no X25519 stanza")
        XCTAssertEqual(forms.found(in: recording), [], "the socket carried the SSH private key")
    }

    // MARK: plugin keys

    /// A plugin's key is a line the plugin needs on every operation; the
    /// agent would have to hand it out, so it refuses the file.
    func testAnIdentityFileWithPluginKeysIsRefusedAndNoAgentStarts() throws {
        let own = try cofferKeygen("with-plugin")
        let plugin = String(decoding: Bech32.encode(hrp: "AGE-PLUGIN-COFFERTEST-", data: Array(repeating: 7, count: 16)), as: UTF8.self)
        let text = try String(contentsOfFile: own.identityFile, encoding: .utf8) + plugin + "\n"
        try write("with-plugin", text)
        XCTAssertEqual(chmod(own.identityFile, 0o600), 0)
        for mode in [[], ["--foreground"]] {
            let refused = try cof(["agent", "--identity", own.identityFile] + mode, env: agentEnv)
            assertCofferError(refused)
            XCTAssertTrue(refused.stderrText.contains("coffer: error: \(own.identityFile) holds age plugin keys (plugin coffertest), which need no agent: "
                                                      + "their plugin asks for its PIN or touch once per operation"), refused.stderrText)
            XCTAssertTrue(refused.stderrText.contains("coffer: hint: use this identity without `coffer agent`"), refused.stderrText)
            XCTAssertFalse(refused.stderrText.contains(plugin), "the plugin key was quoted")
            XCTAssertEqual(refused.stdoutText, "", "\(mode)")
            XCTAssertFalse(fileExists(socket), "an agent started for \(mode)")
        }
        // The same keys without the plugin line are ones the agent holds.
        try write("with-plugin", text.replacingOccurrences(of: plugin + "\n", with: ""))
        XCTAssertEqual(chmod(own.identityFile, 0o600), 0)
        try startAgent(identity: own.identityFile)
        XCTAssertEqual(try agentStatus().lines["key"], own.recipient)
    }
}

extension UnixSocket {
    /// One frame's bytes (length prefix included), or what arrived before the connection closed.
    static func readAllFrame(_ fd: Int32) -> Data {
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if out.count >= 4 {
                let length = out.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                if out.count >= 4 + length { return out }
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }
}
