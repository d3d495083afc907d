import Foundation
import XCTest
import Age
#if canImport(Glibc)
import Glibc
#endif

/// `coffer exec` end to end: what only a process shows — the program's
/// environment and files, its exit status and signals, its limits, and
/// where the values do not go (coffer's output, the program's command
/// line, any file under the vault, /tmp or $TMPDIR).
final class ExecTests: VaultE2ECase {
    // MARK: names

    func testNamesComeFromTheLastSegment() throws {
        try initVault()
        try cofOK(["set", "app/db-url=postgres://db", "app/2fa.seed=seed", "app/sub/tls.key=tls", "other/x=no"])
        let env = try childEnvironment(["--prefix", "app"])
        XCTAssertEqual(env["DB_URL"], "postgres://db")
        XCTAssertEqual(env["_2FA_SEED"], "seed")
        XCTAssertEqual(env["TLS_KEY"], "tls")
        XCTAssertNil(env["X"], "a secret outside the prefix was set")
    }

    func testTwoIdsForOneNameAreRefusedNamingBothUntilMapped() throws {
        try initVault()
        try cofOK(["set", "app/db/password=p1", "app/cache/password=p2"])
        let refused = try cof(["exec", "--prefix", "app", "--", "/bin/sh", "-c", "touch ran"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("PASSWORD") && refused.stderrText.contains("app/db/password")
                      && refused.stderrText.contains("app/cache/password"), refused.stderrText)
        XCTAssertFalse(exists("ran"), "the program ran despite the clash")

        let env = try childEnvironment(["--prefix", "app", "--map", "CACHE_PASSWORD=app/cache/password"])
        XCTAssertEqual(env["PASSWORD"], "p1")
        XCTAssertEqual(env["CACHE_PASSWORD"], "p2")
    }

    func testOnlyKeepsTheNamedSecrets() throws {
        try initVault()
        try cofOK(["set", "app/a=1", "app/b=2", "app/c=3"])
        let env = try childEnvironment(["--prefix", "app", "--only", "A", "--only", "C"])
        XCTAssertEqual(env["A"], "1")
        XCTAssertEqual(env["C"], "3")
        XCTAssertNil(env["B"])
    }

    // MARK: precedence

    func testEnvWinsOverSecretsWhichWinOverTheInheritedEnvironment() throws {
        try initVault()
        try cofOK(["set", "app/foo=from-secret", "app/bar=from-secret"])
        let inherited = ["FOO": "inherited", "BAR": "inherited", "KEEP": "inherited"]
        var env = try childEnvironment(["--prefix", "app", "--env", "FOO=from-env"], env: inherited)
        XCTAssertEqual(env["FOO"], "from-env")
        XCTAssertEqual(env["BAR"], "from-secret")
        XCTAssertEqual(env["KEEP"], "inherited")
        env = try childEnvironment(["--prefix", "app"], env: inherited)
        XCTAssertEqual(env["FOO"], "from-secret")
    }

    func testPristineInheritsNothing() throws {
        try initVault()
        try cofOK(["set", "app/token=t"])
        let result = try cofOK(["exec", "--pristine", "--prefix", "app", "--env", "X=1", "--", "/usr/bin/env"], env: ["KEEP": "inherited"])
        XCTAssertEqual(Set(result.stdoutText.split(separator: "\n")), ["TOKEN=t", "X=1"])
        // No PATH in the program's environment: a bare name is found along coffer's own.
        XCTAssertEqual(try cofOK(["exec", "--pristine", "--", "env"]).stdoutText, "")
    }

    // MARK: files

    /// The value reaches the program through /dev/fd/N only: not in its
    /// environment, not in any file on disk; mode 0400, sealed.
    func testFileHoldsTheValueInMemoryOnly() throws {
        try initVault()
        let start = Date()
        let value = canary("file")
        try cofOK(["set", "deploy/key=\(value)"])
        let script = #"""
            stat -L -c '%a %s' "$KEY"
            sha256sum < "$KEY" | cut -d' ' -f1
            printf x >> "$KEY" 2>/dev/null && echo writable
            sha256sum < "$KEY" | cut -d' ' -f1
            case "$KEY" in /dev/fd/[3-9]|/dev/fd/[1-9][0-9]*) echo fd-path ;; esac
            """#
        let result = try cofOK(["exec", "--file", "KEY=deploy/key", "--", "/bin/sh", "-c", script])
        let lines = result.stdoutText.split(separator: "\n").map(String.init)
        let digest = sha256(Data(value.utf8))
        XCTAssertEqual(lines.prefix(4), ["400 \(value.utf8.count)", digest, digest, "fd-path"], result.stdoutText + result.stderrText)
        assertNoValue(value, in: result)
        XCTAssertEqual(filesHolding(value, since: start), [], "the value was written to disk")
    }

    /// The program holds the descriptors it would hold without coffer, plus
    /// the in-memory file's: none of those coffer opened for itself (the
    /// identity, sealed files, its own memory file before sealing).
    func testTheProgramInheritsNoDescriptorOfCoffers() throws {
        try initVault()
        try cofOK(["set", "app/a=1", "deploy/key=k"])
        let script = "cd /proc/$$/fd && echo *"
        let direct = try run(try requireTool("setsid"), ["-w", "/bin/sh", "-c", script], environment: vaultEnvironment())
        let viaCoffer = try cofOK(["exec", "--prefix", "app", "--file", "KEY=deploy/key", "--", "/bin/sh", "-c", script + "; echo ${KEY#/dev/fd/}"])
        let lines = viaCoffer.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, viaCoffer.stdoutText)
        let expected = Set(direct.stdoutText.split(whereSeparator: \.isWhitespace).map(String.init) + [lines.last ?? ""])
        XCTAssertEqual(Set(lines[0].split(separator: " ").map(String.init)), expected)
    }

    /// A real key-file reader that refuses keys others could read (OpenSSH's
    /// ssh-keygen) accepts the in-memory file.
    func testAKeyFileReaderAcceptsTheFile() throws {
        let sshKeygen = try requireTool("ssh-keygen")
        try initVault()
        try succeed(sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "exec-test", "-f", path("id_ed25519")])
        let publicKey = String(decoding: try read("id_ed25519.pub"), as: UTF8.self).split(separator: " ").prefix(2).joined(separator: " ")
        try cofOK(["set", "deploy/ssh", "--file", path("id_ed25519")])
        // The peer really checks: the same key in a file others can read is refused.
        chmod(path("id_ed25519"), 0o644)
        XCTAssertNotEqual(try run(sshKeygen, ["-y", "-f", path("id_ed25519")]).status, 0, "ssh-keygen accepted a 0644 key file")
        let viaPath = try cofOK(["exec", "--file", "SSH_KEY=deploy/ssh", "--", "/bin/sh", "-c", "exec \"$0\" -y -f \"$SSH_KEY\"", sshKeygen])
        XCTAssertEqual(viaPath.stdoutText.split(separator: " ").prefix(2).joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines),
                       publicKey, viaPath.stderrText)
    }

    // MARK: refusals before anything runs

    func testMissingAndUnreadableIdsAreAllListedAndNothingRuns() throws {
        try initVault()
        try cofOK(["set", "app/a=1"])
        let result = try cof(["exec", "--prefix", "app", "--prefix", "empty", "--map", "B=app/nope", "--file", "C=other/nope",
                              "--", "/bin/sh", "-c", "touch ran"])
        assertCofferError(result)
        for named in ["app/nope", "other/nope", "empty"] {
            XCTAssertTrue(result.stderrText.contains(named), "\(named) not named: \(result.stderrText)")
        }
        XCTAssertEqual(result.stderrText.split(separator: "\n").filter { $0.hasPrefix("coffer: error:") }.count, 1, result.stderrText)
        XCTAssertFalse(exists("ran"), "the program ran with secrets missing")
        try assertLastAudit("set", ids: ["app/a"], commit: try head())

        let allowed = try cofOK(["exec", "--prefix", "app", "--map", "B=app/nope", "--allow-missing", "--", "/bin/sh", "-c", "touch ran; echo \"$A${B-unset}\""])
        XCTAssertEqual(allowed.stdoutText, "1unset\n")
        XCTAssertTrue(allowed.stderrText.contains("app/nope"), allowed.stderrText)
        XCTAssertTrue(exists("ran"))
        // The run is recorded with the ids it was given, not those it lacked.
        try assertLastAudit("reveal:exec", ids: ["app/a"], commit: try head())
    }

    func testAValueTooLongForAVariableIsRefusedBeforeItIsRecorded() throws {
        try initVault()
        try cofOK(["set", "big/v", "--stdin"], stdin: Data(repeating: UInt8(ascii: "x"), count: 128 * 1024))
        let linesBefore = try auditLines().count
        let refused = try cof(["exec", "--map", "V=big/v", "--", "/bin/sh", "-c", "touch ran"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("big/v is longer than an environment variable can be"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("--file NAME=big/v"), refused.stderrText)
        XCTAssertFalse(exists("ran"))
        XCTAssertEqual(try auditLines().count, linesBefore, "a run that never started was recorded")
        let asFile = try cofOK(["exec", "--file", "V=big/v", "--", "/bin/sh", "-c", "wc -c < \"$V\""])
        XCTAssertEqual(asFile.stdoutText.trimmingCharacters(in: .whitespaces), "131072\n")
    }

    func testARunTheAuditLogCannotRecordDoesNotStart() throws {
        try initVault()
        try cofOK(["set", "app/a=1"])
        try FileManager.default.removeItem(atPath: auditLogPath)
        try FileManager.default.createDirectory(atPath: auditLogPath, withIntermediateDirectories: false)
        let result = try cof(["exec", "--prefix", "app", "--", "/bin/sh", "-c", "touch ran"])
        assertCofferError(result)
        XCTAssertTrue(result.stderrText.contains("cannot write the audit log"), result.stderrText)
        XCTAssertFalse(exists("ran"), "the program ran without an audit line")
    }

    func testAValueWithANULByteIsRefusedAsAVariableButGoesInAFile() throws {
        try initVault()
        try cofOK(["set", "bin/blob", "--stdin"], stdin: Data([0x61, 0, 0x62]))
        let refused = try cof(["exec", "--prefix", "bin", "--", "/bin/sh", "-c", "touch ran"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("bin/blob") && refused.stderrText.contains("--file"), refused.stderrText)
        XCTAssertFalse(exists("ran"))
        let file = try cofOK(["exec", "--file", "BLOB=bin/blob", "--", "/bin/sh", "-c", "od -An -tx1 < \"$BLOB\""])
        XCTAssertEqual(file.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "61 00 62")
    }

    /// Command-line refusals: argv → exit status → a piece of stderr.
    func testRefusals() throws {
        try initVault()
        let table: [([String], Int32, String)] = [
            (["--map", "1A=x", "--", "/bin/true"], 64, "not a valid environment variable name"),
            (["--env", "A-B=1", "--", "/bin/true"], 64, "'A-B' is not a valid environment variable name"),
            (["--file", "NOEQUALS", "--", "/bin/true"], 64, "--file wants NAME=ID"),
            (["--only", "a b", "--", "/bin/true"], 64, "not a valid environment variable name"),
            (["--prefix", "app"], 64, "missing the program to run"),
            (["--map", "A=../x", "--", "/bin/true"], 64, "--map A=ID: invalid secret id"),
            (["--file", "K=/abs", "--", "/bin/true"], 64, "--file K=ID: invalid secret id"),
            (["--only", "X", "--", "/bin/true"], 1, "X (no secret asked for has that name)"),
            (["--", "no-such-program-\(UUID().uuidString)"], 127, "command not found"),
            (["--", try write("plain.txt", "not a program")], 126, "cannot run"),
        ]
        for (arguments, status, message) in table {
            let result = try cof(["exec"] + arguments)
            XCTAssertEqual(result.status, status, "exec \(arguments): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: ") && result.stderrText.contains(message),
                          "exec \(arguments): \(result.stderrText)")
        }
    }

    // MARK: the program's own process

    func testTheExitStatusIsTheProgramsOwn() throws {
        XCTAssertEqual(try cof(["exec", "--", "/bin/sh", "-c", "exit 42"]).status, 42)
        XCTAssertEqual(try cof(["exec", "--", "/bin/sh", "-c", "exit 0"]).status, 0)
    }

    /// The words after `--` reach the program exactly: options coffer has
    /// (`--help`), something that looks like a private key, bytes that are
    /// not UTF-8, a second `--`.
    func testArgumentsAfterTheTerminatorAreUntouched() throws {
        let key = try cofferKeygen("k.txt").secret
        let echoed = try cofOK(["exec", "--", "/bin/sh", "-c", "printf '%s|' \"$@\"", "sh", "--help", "-n1", "--", key, "--vault", "x"])
        XCTAssertEqual(echoed.stdoutText, "--help|-n1|--|\(key)|--vault|x|")
        let bytes = try run("/bin/sh", ["-c", "exec \"$0\" exec -- /bin/sh -c 'printf %s \"$1\" | od -An -tx1' sh \"$(printf 'a\\377b')\"", coffer],
                            environment: vaultEnvironment())
        XCTAssertEqual(bytes.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "61 ff 62", bytes.stderrText)
        let environment = try run("/bin/sh", ["-c", "X=\"$(printf 'c\\377d')\" exec \"$0\" exec -- /bin/sh -c 'printf %s \"$X\" | od -An -tx1'", coffer],
                                  environment: vaultEnvironment())
        XCTAssertEqual(environment.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "63 ff 64", environment.stderrText)
    }

    /// The program replaces coffer: same process, so a SIGTERM sent to it is
    /// its own death; its command line holds no value; its environment holds
    /// the variable's (documented) but not the file's; nothing reached coffer's
    /// output or the disk.
    func testARunningProgramGetsSignalsAndHoldsNoValueInItsCommandLine() throws {
        try initVault()
        let start = Date()
        let variable = canary("variable"), file = canary("file")
        try cofOK(["set", "app/token=\(variable)", "app/key=\(file)"])
        let out = path(".io/running.out"), err = path(".io/running.err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: coffer)
        process.arguments = ["exec", "--prefix", "app", "--file", "KEY=app/key", "--", "/bin/sleep", "60"]
        process.environment = ProcessInfo.processInfo.environment.merging(vaultEnvironment()) { $1 }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let pid = process.processIdentifier
        defer { if process.isRunning { kill(pid, SIGKILL) }; process.waitUntilExit() }
        var comm = ""
        for _ in 0..<400 where comm != "sleep\n" && process.isRunning {
            usleep(25_000)
            comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        }
        XCTAssertEqual(comm, "sleep\n", "coffer exec did not become the program (stderr: \(String(decoding: (try? read(".io/running.err")) ?? Data(), as: UTF8.self)))")

        let cmdline = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        XCTAssertEqual(cmdline, Data("/bin/sleep\u{0}60\u{0}".utf8))
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        XCTAssertNotNil(environ.range(of: Data("TOKEN=\(variable)".utf8)), "the variable is not in the program's environment")
        XCTAssertNil(environ.range(of: Data(file.utf8)), "a --file value is in the program's environment")
        let keyPath = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.first { $0.hasPrefix("KEY=") }
        let fd = try XCTUnwrap(keyPath.flatMap { Int($0.dropFirst("KEY=/dev/fd/".count)) }, "KEY is \(keyPath ?? "unset")")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/fd/\(fd)")), Data(file.utf8))
        var info = stat()
        XCTAssertEqual(stat("/proc/\(pid)/fd/\(fd)", &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o400)

        XCTAssertEqual(kill(pid, SIGTERM), 0)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGTERM)
        for (name, output) in [("stdout", try read(".io/running.out")), ("stderr", try read(".io/running.err"))] {
            for value in [variable, file] { assertDoesNotContain(output, Data(value.utf8), "a value in coffer's \(name)") }
        }
        XCTAssertEqual(filesHolding(variable, since: start) + filesHolding(file, since: start), [], "a value was written to disk")
    }

    /// What coffer lowered for itself is the program's again: the core-size
    /// limit coffer inherited (soft and hard), the dumpable flag, and the
    /// signal mask and ignored signals — the same as without coffer. As
    /// root, the run has no capabilities, so a hard limit coffer lowered
    /// could not be raised back.
    func testTheProgramGetsTheLimitsCofferInherited() throws {
        let python = try requireTool("python3")
        let prlimit = try requireTool("prlimit")
        // The soft limit only: raising the hard one would need privileges.
        var launcher = [prlimit, "--core=12345:"]
        if geteuid() == 0 { launcher += [try requireTool("setpriv"), "--inh-caps=-all", "--bounding-set=-all", "--"] }
        let probe = """
            import ctypes
            print("dumpable", ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))
            for line in open("/proc/self/limits"):
                if line.startswith("Max core file size"): print("core", line.split()[4], line.split()[5])
            for line in open("/proc/self/status"):
                if line.startswith(("SigIgn", "SigBlk", "CapEff")): print(line.strip())
            """
        let direct = try run(launcher[0], Array(launcher.dropFirst()) + [python, "-c", probe], environment: vaultEnvironment())
        let viaCoffer = try run(launcher[0], Array(launcher.dropFirst()) + [coffer, "exec", "--", python, "-c", probe], environment: vaultEnvironment())
        XCTAssertEqual(direct.status, 0, direct.stderrText)
        XCTAssertEqual(viaCoffer.status, 0, viaCoffer.stderrText)
        XCTAssertTrue(direct.stdoutText.hasPrefix("dumpable 1\ncore 12345 "), direct.stdoutText)
        XCTAssertEqual(viaCoffer.stdoutText, direct.stdoutText)
    }

    /// exec touches no history: libgit2 is never loaded (glibc's loader
    /// reports each library it maps, dlopen'd ones included).
    func testLibgit2IsNotLoaded() throws {
        try initVault()
        try cofOK(["set", "app/a=1"])
        // `log` reads history natively too; COFFER_GIT_NATIVE=0 has it use libgit2.
        let control = try cofOK(["log"], env: ["LD_DEBUG": "libs", "COFFER_GIT_NATIVE": "0"])
        XCTAssertTrue(control.stderrText.contains("libgit2"), "LD_DEBUG does not show libgit2 being loaded by `coffer log`")
        let result = try cofOK(["exec", "--prefix", "app", "--", "/bin/true"], env: ["LD_DEBUG": "libs"])
        XCTAssertFalse(result.stderrText.contains("libgit2"), "coffer exec loaded libgit2")
    }

    // MARK: helpers

    /// The environment `/usr/bin/env` prints when run by `coffer exec ARGS…`.
    private func childEnvironment(_ arguments: [String], env: [String: String] = [:],
                                  file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let result = try cofOK(["exec"] + arguments + ["--", "/usr/bin/env"], env: env, file: file, line: line)
        var out: [String: String] = [:]
        for entry in result.stdoutText.split(separator: "\n") {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            out[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return out
    }

    private func assertNoValue(_ value: String, in result: CommandResult, file: StaticString = #filePath, line: UInt = #line) {
        assertDoesNotContain(result.stdout, Data(value.utf8), "the value on stdout", file: file, line: line)
        assertDoesNotContain(result.stderr, Data(value.utf8), "the value on stderr", file: file, line: line)
    }

    private func sha256(_ data: Data) -> String {
        Digest.sha256(Array(data)).map { String(format: "%02x", $0) }.joined()
    }

    /// Regular files under the vault, /tmp and $TMPDIR changed since `start`
    /// that hold `value` (a file holding it must have been written after the
    /// test made it up).
    private func filesHolding(_ value: String, since start: Date) -> [String] {
        let needle = Data(value.utf8)
        let roots = Set([vaultDir, "/tmp", ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp", NSTemporaryDirectory()])
        var found: [String] = []
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = walker.nextObject() as? String {
                let full = root + "/" + relative
                var info = stat()
                guard lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size < 64 << 20,
                      Double(info.st_mtim.tv_sec) >= start.timeIntervalSince1970.rounded(.down) - 1 else { continue }
                if FileManager.default.contents(atPath: full)?.range(of: needle) != nil { found.append(full) }
            }
        }
        return found
    }
}
