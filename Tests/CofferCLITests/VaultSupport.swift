import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Base class of the vault end-to-end tests (VaultCommandTests, VaultErrorTests,
/// VaultLeakTests): every process gets a private HOME and XDG_CONFIG_HOME inside
/// the test's temporary directory, so the real user's identity and git config
/// are never touched; `COFFER_VAULT` points at `<tmp>/vault`.
///
/// After every coffer command the vault's `git status --porcelain` must be
/// empty (pass `clean: false` while a test has modified the work tree by hand).
class VaultE2ECase: CLITestCase {
    var homeDir: String { path("home") }
    var configHome: String { path("home/.config") }
    var identityFile: String { configHome + "/coffer/identity" }
    var vaultDir: String { path("vault") }

    /// Every coffer command run through `cof` (for leak checks).
    private(set) var cofferResults: [CommandResult] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: configHome, withIntermediateDirectories: true)
        cofferResults = []
    }

    /// The environment of every process: never the real user's config, identity or vault.
    func vaultEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "HOME": homeDir,
            "XDG_CONFIG_HOME": configHome,
            "COFFER_VAULT": vaultDir,
            "COFFER_IDENTITY": "",
            // No agent but the ones a test starts (AgentTests), whatever runs on this machine.
            "COFFER_AGENT_SOCK": path("no-agent/agent.sock"),
            "USER": "tester",
            "LOGNAME": "tester",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "LC_ALL": "C",
        ]
        for (k, v) in extra { environment[k] = v }
        return environment
    }

    // MARK: running coffer

    /// `coffer ARGS…` with the test environment; checks the vault is clean afterwards.
    @discardableResult
    func cof(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil, env: [String: String] = [:],
             clean: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        // In a new session (setsid), without a controlling terminal: a prompt
        // can never hang the suite when it runs from an interactive shell.
        let (executable, prefix) = Tools.which("setsid").map { ($0, ["-w", coffer!]) } ?? (coffer!, [])
        let result = try run(executable, prefix + arguments, stdin: stdin, stdinFile: stdinFile,
                             environment: vaultEnvironment(env), file: file, line: line)
        cofferResults.append(result)
        if clean { try assertVaultClean(after: result.command, file: file, line: line) }
        return result
    }

    /// Like `cof`, and the command must succeed.
    @discardableResult
    func cofOK(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil, env: [String: String] = [:],
               clean: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try cof(arguments, stdin: stdin, stdinFile: stdinFile, env: env, clean: clean, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(result.command) failed: \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(result.command) exited \(result.status): \(result.stderrText)") }
        return result
    }

    /// Runs coffer with `directory` as its working directory (vault discovery).
    func cof(inDirectory directory: String, _ arguments: [String], env: [String: String] = [:],
             file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, coffer] + arguments,
                             environment: vaultEnvironment(env), file: file, line: line)
        cofferResults.append(result)
        return result
    }

    /// `init` of `<tmp>/vault` (creating the identity); returns the public key.
    @discardableResult
    func initVault(name: String = "tester", file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try cofOK(["init", vaultDir, "--name", name], file: file, line: line)
        return try publicKey(file: file, line: line)
    }

    /// The age keys `identity show` prints (the one in use first), one per line.
    func publicKey(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try cofOK(["identity", "show"], file: file, line: line).stdoutText.ageLines
    }

    /// The signing key line `identity show` prints: `ssh-ed25519 AAAA… coffer:NAME`.
    func signingKeyLine(_ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let shown = try cofOK(["identity", "show"] + extra, file: file, line: line).stdoutText
        return shown.split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init) ?? "<no signing key in: \(shown)>"
    }

    /// The exact value of `id`, through `get --reveal`.
    func reveal(_ id: String, vault: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        try cofOK(["get", id, "--reveal"] + (vault.map { ["--vault", $0] } ?? []), file: file, line: line).stdout
    }

    // MARK: the vault on disk

    func sealedPath(_ id: String, in vault: String? = nil) -> String { (vault ?? vaultDir) + "/" + id + ".age" }

    func sealed(_ id: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: sealedPath(id))) }

    func fileExists(_ full: String) -> Bool { FileManager.default.fileExists(atPath: full) }

    /// The arguments of the `-> coffer/binding` stanza of a sealed file (id, fingerprints…).
    func binding(of sealedFile: Data) -> [String]? {
        let header = String(decoding: sealedFile.prefix(8192), as: UTF8.self)
        for line in header.split(separator: "\n") {
            if line.hasPrefix("---") { break }
            if line.hasPrefix("-> coffer/binding ") {
                return line.split(separator: " ").dropFirst(2).map(String.init)
            }
        }
        return nil
    }

    /// Every file (path -> bytes) and directory (path + "/") below `root`, `.git` included.
    func snapshot(_ root: String? = nil) -> [String: Data] {
        let base = root ?? vaultDir
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: base) else { return out }
        while let relative = walker.nextObject() as? String {
            let full = base + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                out[relative + "/"] = Data()
            } else {
                out[relative] = (try? Data(contentsOf: URL(fileURLWithPath: full))) ?? Data("<unreadable>".utf8)
            }
        }
        return out
    }

    /// Fails listing what was added, removed or changed between two snapshots.
    /// `.git/coffer/trust` is left out: any command that reads trust records
    /// there how far this clone has judged the history, refused or not. So
    /// is `.git/coffer/history-index`, a cache any read of history builds or
    /// extends (a refused `get --at v99` reads the versions first), and the
    /// audit log (for snapshots of the test's whole directory), which
    /// records refusals' reveals and checks.
    func assertSameSnapshot(_ before: [String: Data], _ after: [String: Data], _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        func kept(_ path: String) -> Bool {
            path != ".git/coffer/trust" && path != ".git/coffer/history-index" && !path.hasPrefix("home/.local/state/coffer/")
        }
        let before = before.filter { kept($0.key) }, after = after.filter { kept($0.key) }
        let added = Set(after.keys).subtracting(before.keys).sorted()
        let removed = Set(before.keys).subtracting(after.keys).sorted()
        let changed = Set(before.keys).intersection(after.keys).filter { before[$0] != after[$0] }.sorted()
        XCTAssertTrue(added.isEmpty && removed.isEmpty && changed.isEmpty,
                      "\(what) changed the vault: added \(added), removed \(removed), changed \(changed)",
                      file: file, line: line)
    }

    // MARK: git and age

    func git(_ arguments: [String], in directory: String? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let tool = try requireTool("git", file: file, line: line)
        return try run(tool, ["-C", directory ?? vaultDir] + arguments, environment: vaultEnvironment(), file: file, line: line)
    }

    @discardableResult
    func gitOK(_ arguments: [String], in directory: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try git(arguments, in: directory, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(result.command) failed: \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(result.command) exited \(result.status)") }
        return result
    }

    func head(in directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try gitOK(["rev-parse", "HEAD"], in: directory, file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func commitCount(file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        Int(try gitOK(["rev-list", "--count", "HEAD"], file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// `git show --name-status` of HEAD: ["A x.age", "D y.age", …], sorted.
    func headChanges(file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try gitOK(["show", "--no-renames", "--name-status", "--format=", "HEAD"], file: file, line: line).stdoutText
            .split(separator: "\n").map { $0.split(separator: "\t").joined(separator: " ") }.sorted()
    }

    /// `git status --porcelain` must be empty (when the vault and git exist;
    /// without git the check is skipped here and enforced by the tests that require git).
    func assertVaultClean(in directory: String? = nil, after command: String,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let root = directory ?? vaultDir
        guard fileExists(root + "/.git"), let tool = Tools.which("git") else { return }
        let status = try run(tool, ["-C", root, "status", "--porcelain", "--untracked-files=all", "--ignored"],
                             environment: vaultEnvironment(), file: file, line: line)
        XCTAssertEqual(status.status, 0, "git status: \(status.stderrText)", file: file, line: line)
        XCTAssertEqual(status.stdoutText, "", "git status --porcelain is not empty after \(command)", file: file, line: line)
    }

    /// `age -d -i IDENTITY FILE` with the stock age CLI.
    func ageDecrypt(_ file: String, identity: String? = nil,
                    sourceFile: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let age = try requireTool("age", file: sourceFile, line: line)
        return try run(age, ["-d", "-i", identity ?? identityFile, file], environment: vaultEnvironment(),
                       file: sourceFile, line: line)
    }

    // MARK: terminal

    /// Runs `command` on a pseudo-terminal (pty_run.py), typing `answer` at every
    /// prompt matching the regular expression `prompt`. stdout is what the terminal showed.
    func runOnTerminal(_ command: [String], prompt: String, answer: String, maxAnswers: Int = 2, timeout: Int = 30,
                       env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let python = try requireTool("python3", file: file, line: line)
        let answerFile = try write(".io/pty-answer-\(UUID().uuidString)", answer + "\n")
        defer { unlink(answerFile) }
        let helperDirectory = URL(fileURLWithPath: Tools.ptyHelper).deletingLastPathComponent().path
        let script = """
            import re, sys
            sys.path.insert(0, sys.argv[1])
            import pty_run
            pty_run.PROMPT = re.compile(sys.argv[2].encode())
            sys.argv = ["pty_run"] + sys.argv[3:]
            sys.exit(pty_run.main())
            """
        let arguments = ["-c", script, helperDirectory, prompt, "--timeout", String(timeout),
                         "--max-answers", String(maxAnswers), "--passphrase-file", answerFile, "--"] + command
        let result = try run(python, arguments, environment: vaultEnvironment(env), timeout: TimeInterval(timeout + 30),
                             file: file, line: line)
        cofferResults.append(result)
        return result
    }

    // MARK: values

    /// A distinctive printable value, easy to find if it ever leaks.
    func canary(_ tag: String) -> String {
        "CANARY-\(tag)-" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "-" + randomBytes(8).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: dotenv and the shell

    /// Values that run `touch CANARY` if a shell sourcing a dotenv file
    /// expands them, each with whether dotenv output must refuse it (`$` or
    /// a backtick in a value that needs double quotes).
    func shellHostileValues(touching canary: String) -> [(value: String, refused: Bool)] {
        let touch = "touch \(canary)"
        return [
            ("$(\(touch))", false), ("`\(touch)`", false), ("x; \(touch)", false), ("a b  c\t d", false),
            ("say \"hi\" `\(touch)`", false), ("\" ; \(touch) ; \"", false), ("' ; \(touch) ; '", false),
            ("C:\\dir \"q\" it's", false), ("l1\nl2\r\nit's \\ \"q\"", false),
            ("it's $(\(touch))", true), ("C:\\dir $(\(touch))", true), ("l1\n`\(touch)`", true),
        ]
    }

    /// The value of `name` in a POSIX shell after `set -a; . FILE` (printed
    /// with printf, so line breaks in it survive, as `env` would blur them).
    func sourcedWithSh(_ file: String, _ name: String, file testFile: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try run("/bin/sh", ["-c", "set -a; . \"$1\"; printf %s \"$\(name)\"", "sh", file], file: testFile, line: line)
        XCTAssertEqual(result.status, 0, result.stderrText, file: testFile, line: line)
        return result.stdoutText
    }

    /// `value` as a shell gets it from coffer's dotenv output: inside double
    /// quotes sh keeps `\n` and `\r` as two characters (docs/CLI.md says so).
    func asSourcedWithSh(_ value: String) -> String {
        value.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }
}

extension String {
    /// The `age1…` lines of `identity show`'s output, without the signing key line.
    var ageLines: String { split(separator: "\n").filter { $0.hasPrefix("age1") }.joined(separator: "\n") }
}
