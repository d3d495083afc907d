import Age
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// SPEC 3 "Atomicity": a crash or `kill -9` at any point leaves the vault at
// the old state or the new one; the next command repairs a work tree left
// behind; no acknowledged write is ever lost. These tests SIGKILL real
// `coffer` processes at random moments and inspect the vault with stock git.

/// How a spawned program ended.
struct AtomicityOutcome {
    let command: String
    /// The exit status, or nil when a signal ended the process.
    let exitStatus: Int32?
    let signal: Int32?
    let stdout: Data
    let stderr: Data
    /// From just before the spawn to the end of the wait.
    let seconds: Double

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    var succeeded: Bool { exitStatus == 0 }
    var summary: String {
        let end = exitStatus.map { "exit \($0)" } ?? "signal \(signal ?? 0)"
        return "`\(command)` → \(end); stderr: \(stderrText.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// A program started with its standard streams in files, which can be
/// SIGKILLed at any moment and then waited for.
final class KillableProcess {
    let process: Process
    let command: String
    private let outPath: String
    private let errPath: String
    private let handles: [FileHandle]
    private let done = DispatchSemaphore(value: 0)
    let started: DispatchTime

    init(executable: String, arguments: [String], directory: URL, environment: [String: String],
         stdinPath: String, outPath: String, errPath: String) throws {
        self.outPath = outPath
        self.errPath = errPath
        command = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).joined(separator: " ")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let input = FileHandle(forReadingAtPath: stdinPath),
              let output = FileHandle(forWritingAtPath: outPath),
              let error = FileHandle(forWritingAtPath: errPath) else {
            throw TestSetupError("cannot open the stdio files for \(command)")
        }
        handles = [input, output, error]
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        let done = self.done
        process.terminationHandler = { _ in done.signal() }
        started = .now()
        do {
            try process.run()
        } catch {
            for handle in handles { try? handle.close() }
            throw error
        }
    }

    /// SIGKILL, unless the process already ended.
    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func wait(timeout: TimeInterval = 60) throws -> AtomicityOutcome {
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
            for handle in handles { try? handle.close() }
            throw TestSetupError("timed out after \(Int(timeout)) s: \(command)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        for handle in handles { try? handle.close() }
        defer { unlink(outPath); unlink(errPath) }
        let signaled = process.terminationReason == .uncaughtSignal
        return AtomicityOutcome(
            command: command,
            exitStatus: signaled ? nil : process.terminationStatus,
            signal: signaled ? process.terminationStatus : nil,
            stdout: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(),
            stderr: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(),
            seconds: seconds)
    }
}

/// Shared machinery for the crash-safety and concurrency tests: a vault in
/// the test directory, an isolated identity, processes that can be killed,
/// and readers for HEAD, the work tree and the sealed values (decrypted in
/// process, so inspecting the vault never runs coffer's own repair).
class AtomicityTestCase: CLITestCase {
    private(set) var git: String!
    /// The vault under test (a test may switch to a fresh one).
    var vault: String!
    private let counterLock = NSLock()
    private var counter = 0
    private var cachedIdentities: [X25519Identity]?

    override func setUpWithError() throws {
        try super.setUpWithError()
        git = try requireGit()
        for name in ["config", "home"] {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: false)
        }
        vault = path("vault")
    }

    /// git inspects every vault here. Missing: a failure under CI=true, a skip elsewhere.
    func requireGit(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        if let found = Tools.which("git") { return found }
        let message = "`git` is not installed (Debian: apt-get install git); the crash-safety and concurrency tests inspect vaults with it"
        if Tools.isCI {
            XCTFail("CI=true and \(message)", file: file, line: line)
            throw TestSetupError(message)
        }
        throw XCTSkip(message)
    }

    /// The test's own environment minus anything that would point coffer or
    /// git elsewhere, plus an identity and home of its own.
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("COFFER_") && !$0.key.hasPrefix("GIT_") }
        env["XDG_CONFIG_HOME"] = path("config")
        env["HOME"] = path("home")
        env["NO_COLOR"] = "1"
        env["LC_ALL"] = "C"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["COFFER_TEST_SCRYPT_WORK_FACTOR"] = CLITestCase.testWorkFactor
        return env
    }

    private func nextNumber() -> Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        counter += 1
        return counter
    }

    /// Starts `executable` (a path) in the test directory. Thread-safe.
    func start(_ executable: String, _ arguments: [String], stdin: Data? = nil,
               environment extra: [String: String] = [:]) throws -> KillableProcess {
        let n = nextNumber()
        let io = dir.appendingPathComponent(".io")
        var stdinPath = "/dev/null"
        if let stdin {
            stdinPath = io.appendingPathComponent("atomic-in.\(n)").path
            try stdin.write(to: URL(fileURLWithPath: stdinPath))
        }
        defer { if stdin != nil { unlink(stdinPath) } }
        return try KillableProcess(
            executable: executable, arguments: arguments, directory: dir,
            environment: environment.merging(extra) { $1 }, stdinPath: stdinPath,
            outPath: io.appendingPathComponent("atomic-out.\(n)").path,
            errPath: io.appendingPathComponent("atomic-err.\(n)").path)
    }

    func execute(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                 environment extra: [String: String] = [:], timeout: TimeInterval = 60) throws -> AtomicityOutcome {
        try start(executable, arguments, stdin: stdin, environment: extra).wait(timeout: timeout)
    }

    /// `coffer SUBCOMMAND --vault VAULT ARGS…`
    func cofferArguments(_ subcommand: String, _ arguments: [String]) -> [String] {
        [subcommand, "--vault", vault] + arguments
    }

    func runCoffer(_ subcommand: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> AtomicityOutcome {
        try execute(coffer, cofferArguments(subcommand, arguments), environment: extra)
    }

    @discardableResult
    func mustCoffer(_ subcommand: String, _ arguments: [String],
                    file: StaticString = #filePath, line: UInt = #line) throws -> AtomicityOutcome {
        let result = try runCoffer(subcommand, arguments)
        guard result.succeeded else {
            XCTFail(result.summary, file: file, line: line)
            throw TestSetupError(result.summary)
        }
        return result
    }

    /// `git -C VAULT ARGS…`
    func runGit(_ arguments: [String], stdin: Data? = nil) throws -> AtomicityOutcome {
        try execute(git, ["-C", vault] + arguments, stdin: stdin)
    }

    /// stdout of a git command that must succeed.
    @discardableResult
    func mustGit(_ arguments: [String], stdin: Data? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runGit(arguments, stdin: stdin)
        guard result.succeeded else {
            XCTFail(result.summary, file: file, line: line)
            throw TestSetupError(result.summary)
        }
        return result.stdoutText
    }

    /// `coffer init` on a fresh vault directory (creating the identity the first time).
    func makeVault(_ name: String = "vault") throws {
        vault = path(name)
        let result = try execute(coffer, ["init", vault])
        guard result.succeeded else {
            XCTFail(result.summary)
            throw TestSetupError(result.summary)
        }
    }

    // MARK: reading the vault without coffer

    func revParse(_ revision: String) throws -> String {
        try mustGit(["rev-parse", "--verify", "--quiet", revision]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every blob of `revision`'s tree: path → bytes (two git processes).
    func tree(_ revision: String) throws -> [String: Data] {
        let listing = try mustGit(["ls-tree", "-r", "-z", revision])
        var paths: [(path: String, sha: String)] = []
        for record in listing.split(separator: "\0") {
            guard let tab = record.firstIndex(of: "\t") else { continue }
            let fields = record[..<tab].split(separator: " ")
            guard fields.count == 3, fields[1] == "blob" else { continue }
            paths.append((String(record[record.index(after: tab)...]), String(fields[2])))
        }
        let blobs = try catFileBatch(paths.map(\.sha))
        var out: [String: Data] = [:]
        for (path, sha) in paths { out[path] = blobs[sha] }
        return out
    }

    /// Blob contents by id via one `git cat-file --batch`.
    func catFileBatch(_ shas: [String]) throws -> [String: Data] {
        let unique = Array(Set(shas))
        guard !unique.isEmpty else { return [:] }
        let result = try runGit(["cat-file", "--batch"], stdin: Data(unique.map { $0 + "\n" }.joined().utf8))
        guard result.succeeded else { throw TestSetupError(result.summary) }
        let bytes = [UInt8](result.stdout)
        var out: [String: Data] = [:]
        var i = 0
        while i < bytes.count {
            guard let newline = bytes[i...].firstIndex(of: 0x0A) else { break }
            let header = String(decoding: bytes[i..<newline], as: UTF8.self).split(separator: " ")
            guard header.count == 3, let size = Int(header[2]) else {
                throw TestSetupError("git cat-file --batch: unexpected header \(header)")
            }
            out[String(header[0])] = Data(bytes[(newline + 1)..<(newline + 1 + size)])
            i = newline + 1 + size + 1
        }
        return out
    }

    /// Every regular file of the work tree outside `.git`: relative path → bytes.
    func workTreeFiles() -> [String: Data] {
        var out: [String: Data] = [:]
        let root = URL(fileURLWithPath: vault)
        guard let walker = FileManager.default.enumerator(atPath: vault) else { return out }
        while let relative = walker.nextObject() as? String {
            if relative == ".git" { walker.skipDescendants(); continue }
            var info = stat()
            let full = root.appendingPathComponent(relative).path
            guard lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            out[relative] = FileManager.default.contents(atPath: full) ?? Data()
        }
        return out
    }

    /// What a finished or repaired write must not leave behind: temporary
    /// files anywhere in the vault (including `.git`), the journal, and git
    /// lock files (other than coffer's own flock file).
    func leftovers() -> [String] {
        var found: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: vault) else { return found }
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if relative.hasPrefix(".git/objects/") && !name.hasPrefix(".coffer-tmp-") { continue }
            if name.hasPrefix(".coffer-tmp-") || relative == ".git/coffer-journal"
                || (relative.hasPrefix(".git/") && name.hasSuffix(".lock") && relative != ".git/coffer.lock") {
                found.append(relative)
            }
        }
        return found.sorted()
    }

    var journalExists: Bool { FileManager.default.fileExists(atPath: vault + "/.git/coffer-journal") }

    func identities() throws -> [X25519Identity] {
        if let cachedIdentities { return cachedIdentities }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("config") + "/coffer/identity"))
        let parsed = try KeyFile.parseIdentities(SecureBytes(copying: [UInt8](bytes)))
        cachedIdentities = parsed
        return parsed
    }

    /// Decrypts a sealed file in process and checks its coffer binding names `id`.
    func unseal(_ sealed: Data, as id: String) -> Result<String, TestSetupError> {
        do {
            let (plaintext, header) = try Age.decrypt([UInt8](sealed), identities: try identities())
            let bound = header.stanzas.first { $0.type == "coffer/binding" }?.arguments.first
            guard bound == id else { return .failure(TestSetupError("bound to \(bound ?? "nothing"), not \(id)")) }
            return .success(plaintext.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        } catch {
            return .failure(TestSetupError("does not decrypt (\(error))"))
        }
    }

    /// `coffer list --show-values --yes -o json`: id → value, as coffer decrypts the work tree.
    func listedValues() throws -> [String: String] {
        let result = try runCoffer("list", ["--show-values", "--yes", "-o", "json"])
        guard result.succeeded else { throw TestSetupError(result.summary) }
        guard let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
              let rows = object["secrets"] as? [[String: Any]] else {
            throw TestSetupError("unexpected list output: \(result.stdoutText)")
        }
        var out: [String: String] = [:]
        for row in rows {
            guard let id = row["id"] as? String, let value = row["value"] as? String else {
                throw TestSetupError("unexpected list row: \(row)")
            }
            out[id] = value
        }
        return out
    }

    static func secretID(ofPath path: String) -> String? {
        path.hasSuffix(".age") ? String(path.dropLast(4)) : nil
    }
}

/// A small seeded generator, so a failing run can be replayed (COFFER_CRASH_SEED).
struct CrashTrialRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class CrashSafetyTests: AtomicityTestCase {
    /// A committed secret: its value and the exact sealed bytes HEAD holds.
    struct Entry: Equatable {
        var value: String
        var sealed: Data
    }

    enum Operation {
        case set([(id: String, value: String)])
        case rm([String])

        var ids: [String] {
            switch self {
            case .set(let pairs): return pairs.map(\.id)
            case .rm(let ids): return ids
            }
        }

        var kind: String {
            switch self {
            case .set: return "set"
            case .rm: return "rm"
            }
        }
    }

    /// One broken property, with the evidence.
    struct Problem {
        let kind: String
        let detail: String
    }

    private var rng = CrashTrialRNG(state: 0)

    private func token() -> String { String(format: "%08x", UInt32.random(in: .min ... .max, using: &rng)) }

    /// The model's view of HEAD after `operation` succeeds.
    private func applying(_ operation: Operation, to model: [String: Entry]) -> [String: String] {
        var values = model.mapValues(\.value)
        switch operation {
        case .set(let pairs): for (id, value) in pairs { values[id] = value }
        case .rm(let ids): for id in ids { values[id] = nil }
        }
        return values
    }

    /// Reads HEAD into the model, decrypting every secret in process; the
    /// values must be `expected` (a problem is recorded when not).
    private func readModel(expected: [String: String], problems: inout [Problem]) throws -> [String: Entry] {
        var model: [String: Entry] = [:]
        for (path, bytes) in try tree("HEAD") where path.hasSuffix(".age") {
            guard let id = Self.secretID(ofPath: path) else {
                problems.append(Problem(kind: "unexpected file in HEAD", detail: path))
                continue
            }
            switch unseal(bytes, as: id) {
            case .success(let value): model[id] = Entry(value: value, sealed: bytes)
            case .failure(let error):
                problems.append(Problem(kind: "HEAD holds a secret that does not open", detail: "\(id): \(error)"))
            }
        }
        let values = model.mapValues(\.value)
        if values != expected {
            let wrong = Set(values.keys).union(expected.keys).filter { values[$0] != expected[$0] }.sorted()
            problems.append(Problem(kind: "HEAD does not hold the expected values",
                                    detail: "wrong or missing: \(wrong); ids in HEAD \(values.keys.sorted()), expected \(expected.keys.sorted())"))
        }
        return model
    }

    private func randomOperation(trial: Int, model: [String: Entry]) -> Operation {
        let existing = model.keys.sorted()
        if existing.count > 6 && Int.random(in: 0..<4, using: &rng) == 0 {
            let count = Int.random(in: 1...2, using: &rng)
            return .rm(Array(existing.shuffled(using: &rng).prefix(count)))
        }
        var pairs: [(id: String, value: String)] = []
        for id in existing.shuffled(using: &rng).prefix(Int.random(in: 2...4, using: &rng)) {
            pairs.append((id, "t\(trial)-\(pairs.count)-\(token())"))
        }
        for j in 0..<Int.random(in: 1...3, using: &rng) {
            let id = Bool.random(using: &rng) ? "n\(trial)-\(j)" : "grp\(trial % 3)/sub/n\(trial)-\(j)"
            pairs.append((id, "t\(trial)-new\(j)-\(token())"))
        }
        return .set(pairs.shuffled(using: &rng))
    }

    private func arguments(for operation: Operation) -> [String] {
        switch operation {
        case .set(let pairs): return cofferArguments("set", pairs.map { "\($0.id)=\($0.value)" })
        case .rm(let ids): return cofferArguments("rm", ids)
        }
    }

    /// Sets the starting secrets and returns the model.
    private func seedVault(_ name: String) throws -> [String: Entry] {
        try makeVault(name)
        var values: [String: String] = [:]
        for id in ["alpha", "beta", "gamma", "svc/db", "svc/api", "team/x/key", "delta", "epsilon"] {
            values[id] = "base-\(id)-\(token())"
        }
        try mustCoffer("set", values.map { "\($0.key)=\($0.value)" })
        var problems: [Problem] = []
        let model = try readModel(expected: values, problems: &problems)
        if !problems.isEmpty { throw TestSetupError("seeding failed: \(problems.map(\.detail))") }
        return model
    }

    /// SIGKILLs `coffer set` / `coffer rm` at random moments (COFFER_CRASH_TRIALS
    /// trials, default 50) and checks after each kill that HEAD and the work
    /// tree hold the old or the new state of the whole batch, that git fsck is
    /// clean, that an acknowledged write is there, and that the next command
    /// leaves the work tree, index and HEAD identical with nothing left over.
    func testKillNineAtAnyPointLeavesOldOrNewStateAndTheNextCommandRepairs() throws {
        let env = ProcessInfo.processInfo.environment
        let trials = env["COFFER_CRASH_TRIALS"].flatMap(Int.init) ?? 50
        let seed = env["COFFER_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1 ... UInt64.max)
        rng = CrashTrialRNG(state: seed)
        let clock = Date()

        var generation = 0
        var model = try seedVault("vault-0")

        // A normal run's duration (the median of five), measured the way the trials spawn it.
        var durations: [Double] = []
        for n in 0..<5 {
            let operation = randomOperation(trial: 1000 + n, model: model)
            let run = try start(coffer, arguments(for: operation))
            let outcome = try run.wait()
            guard outcome.succeeded else { return XCTFail(outcome.summary) }
            durations.append(outcome.seconds)
            var problems: [Problem] = []
            model = try readModel(expected: applying(operation, to: model), problems: &problems)
            guard problems.isEmpty else { return XCTFail("\(problems)") }
        }
        let normal = durations.sorted()[durations.count / 2]
        let maxDelay = 1.2 * normal

        var landedOld = 0, landedNew = 0, finished = 0, repaired = 0, earlyKills = 0
        var failedTrials: [(trial: Int, summary: String)] = []
        var problemsByKind: [String: (count: Int, example: String)] = [:]

        for trial in 0..<trials {
            let operation = randomOperation(trial: trial, model: model)
            let batch = Set(operation.ids)
            let expectedNew = applying(operation, to: model)
            let headBefore = try revParse("HEAD")
            let early = Int.random(in: 0..<10, using: &rng) == 0
            let delay = early ? Double.random(in: 0...0.001, using: &rng) : Double.random(in: 0...maxDelay, using: &rng)
            if early { earlyKills += 1 }

            // Start, and SIGKILL after `delay`.
            let run = try start(coffer, arguments(for: operation))
            let deadline = run.started.uptimeNanoseconds + UInt64(delay * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if deadline > now { usleep(UInt32((deadline - now) / 1000)) }
            run.kill9()
            let outcome = try run.wait()

            var problems: [Problem] = []
            let acknowledged = outcome.exitStatus == 0
            if let status = outcome.exitStatus, status != 0 {
                problems.append(Problem(kind: "coffer \(operation.kind) failed without being killed", detail: outcome.summary))
            }

            // 1. The repository as stock git sees it.
            let fsck = try runGit(["fsck", "--full", "--no-progress"])
            if !fsck.succeeded { problems.append(Problem(kind: "git fsck --full fails after a kill", detail: fsck.summary)) }

            // 2. HEAD: the old commit, or one new commit on it holding the whole batch.
            let headAfter = try revParse("HEAD")
            let headTree = try tree("HEAD")
            var newState: [String: Data] = model.mapValues(\.sealed)
            let landedOnNew = headAfter != headBefore
            if !landedOnNew {
                landedOld += 1
                if acknowledged {
                    problems.append(Problem(kind: "an acknowledged write is not in HEAD", detail: outcome.summary))
                }
            } else {
                if acknowledged { finished += 1 } else { landedNew += 1 }
                let parent = try revParse("HEAD~1")
                if parent != headBefore {
                    problems.append(Problem(kind: "HEAD moved, but not by one commit on the old HEAD",
                                            detail: "old \(headBefore), new \(headAfter), its parent \(parent)"))
                }
                for id in expectedNew.keys where !batch.contains(id) {
                    if headTree[id + ".age"] != model[id]?.sealed {
                        problems.append(Problem(kind: "a secret outside the batch changed in HEAD", detail: id))
                    }
                }
                switch operation {
                case .set(let pairs):
                    for (id, value) in pairs {
                        guard let bytes = headTree[id + ".age"] else {
                            problems.append(Problem(kind: "HEAD holds part of a batch (id missing)", detail: id))
                            continue
                        }
                        if bytes == model[id]?.sealed {
                            problems.append(Problem(kind: "HEAD holds part of a batch (old value kept)", detail: id))
                        }
                        switch unseal(bytes, as: id) {
                        case .success(let got) where got == value: newState[id] = bytes
                        case .success:
                            problems.append(Problem(kind: "HEAD holds a value that was never written", detail: id))
                        case .failure(let error):
                            problems.append(Problem(kind: "HEAD holds a torn or foreign sealed file", detail: "\(id): \(error)"))
                        }
                    }
                case .rm(let ids):
                    for id in ids {
                        if headTree[id + ".age"] != nil {
                            problems.append(Problem(kind: "HEAD holds part of a batch (removed id kept)", detail: id))
                        }
                        newState[id] = nil
                    }
                }
            }
            let headIDs = Set(headTree.keys.filter { $0 != ".recipients" }.compactMap(Self.secretID(ofPath:)))
            let allowedIDs: Set<String> = landedOnNew ? Set(expectedNew.keys) : Set(model.keys)
            if headIDs != allowedIDs {
                problems.append(Problem(kind: "HEAD's ids are neither the old nor the new set",
                                        detail: "HEAD \(headIDs.sorted()), expected \(allowedIDs.sorted())"))
            }

            // 3. The work tree, before any command repairs it: every file old or new, none torn.
            let files = workTreeFiles()
            let journalLeft = journalExists
            var workTreeBehind = false
            for id in Set(model.keys).union(expectedNew.keys) {
                let file = files[id + ".age"]
                let old = model[id]?.sealed
                let new = landedOnNew ? newState[id] : old
                if file == new { continue }
                if file == old { workTreeBehind = true; continue }
                let what = file.map { unseal($0, as: id) }.map { result -> String in
                    switch result {
                    case .success: return "a valid sealed file that is neither the old nor the new one"
                    case .failure(let error): return "torn: \(error)"
                    }
                } ?? "missing"
                problems.append(Problem(kind: "the work tree holds a file that is neither old nor new", detail: "\(id).age: \(what)"))
            }
            for path in files.keys where path.hasSuffix(".age") {
                let id = Self.secretID(ofPath: path)!
                if model[id] == nil && expectedNew[id] == nil {
                    problems.append(Problem(kind: "the work tree holds an unknown secret file", detail: path))
                }
            }
            if landedOnNew && (journalLeft || workTreeBehind) { repaired += 1 }
            let situation = "HEAD \(landedOnNew ? "new" : "old")"
                + (journalLeft ? ", journal left" : "") + (workTreeBehind ? ", work tree behind HEAD" : "")

            // 4. The next command: it must finish the interrupted write first.
            var state: [String: String] = landedOnNew ? expectedNew : model.mapValues(\.value)
            var nextCommandMoves = false
            switch trial % 4 {
            case 0:
                let list = try runCoffer("list", [])
                let ids = TableText(list.stdoutText)?.column("ID")
                if !list.succeeded || list.stdoutText != listTable(state.keys.sorted()) {
                    problems.append(Problem(kind: "the next `coffer list` is wrong",
                                            detail: "\(list.summary); listed \(ids ?? []), HEAD has \(state.keys.sorted())"))
                }
            case 1:
                // The most telling id: a new one for set (its file may not exist yet), a removed one for rm.
                let id: String
                switch operation {
                case .set(let pairs): id = (pairs.first { model[$0.id] == nil } ?? pairs[0]).id
                case .rm(let ids): id = ids[0]
                }
                let get = try runCoffer("get", [id, "--reveal"])
                if let value = state[id] {
                    if !get.succeeded || get.stdoutText != value {
                        problems.append(Problem(kind: "the next `coffer get --reveal` does not show HEAD's value",
                                                detail: "\(id) (\(situation)): \(get.summary)"))
                    }
                } else if get.exitStatus != 1 || !get.stderrText.contains("no secret") {
                    problems.append(Problem(kind: "the next `coffer get` shows a secret HEAD does not hold", detail: "\(id): \(get.summary)"))
                }
            case 2:
                let id = "r\(trial)", value = "recover-\(trial)-\(token())"
                let set = try runCoffer("set", ["\(id)=\(value)"])
                if set.succeeded { state[id] = value; nextCommandMoves = true } else {
                    problems.append(Problem(kind: "the next `coffer set` fails", detail: set.summary))
                }
            default:
                let candidates = state.keys.filter { !batch.contains($0) }.sorted()
                if candidates.count > 4 {
                    let id = candidates[Int.random(in: 0..<candidates.count, using: &rng)]
                    let rm = try runCoffer("rm", [id])
                    if rm.succeeded { state[id] = nil; nextCommandMoves = true } else {
                        problems.append(Problem(kind: "the next `coffer rm` fails", detail: rm.summary))
                    }
                } else {
                    let list = try runCoffer("list", [])
                    if !list.succeeded { problems.append(Problem(kind: "the next `coffer list` is wrong", detail: list.summary)) }
                }
            }

            // 5. Afterwards: HEAD, index and work tree agree, nothing is left over.
            let headNow = try revParse("HEAD")
            if nextCommandMoves {
                if try revParse("HEAD~1") != headAfter {
                    problems.append(Problem(kind: "the next command's commit is not on the post-kill HEAD", detail: headNow))
                }
            } else if headNow != headAfter {
                problems.append(Problem(kind: "a read-only command moved HEAD", detail: "\(headAfter) → \(headNow)"))
            }
            let left = leftovers()
            let gitLocks = left.filter { $0.hasSuffix(".lock") }
            // A temporary journal in .git is invisible to git; only a write need sweep it.
            let temporaries = left.filter {
                ($0 as NSString).lastPathComponent.hasPrefix(".coffer-tmp-") && (nextCommandMoves || !$0.hasPrefix(".git/"))
            }
            if !gitLocks.isEmpty {
                problems.append(Problem(kind: "a stale git lock file is left after the next command", detail: gitLocks.joined(separator: ", ")))
            }
            if !temporaries.isEmpty {
                problems.append(Problem(kind: "`.coffer-tmp-*` files are left after the next command", detail: temporaries.joined(separator: ", ")))
            }
            if journalExists {
                problems.append(Problem(kind: "the journal is left after the next command", detail: ".git/coffer-journal"))
            }
            let status = try runGit(["status", "--porcelain", "--untracked-files=all"])
            if !status.succeeded || !status.stdoutText.isEmpty {
                problems.append(Problem(kind: "git status is not clean after the next command",
                                        detail: status.succeeded ? status.stdoutText : status.summary))
            }
            let newModel = try readModel(expected: state, problems: &problems)
            let treeNow = newModel.mapValues(\.sealed)
            let filesNow = workTreeFiles()
            for (id, sealed) in treeNow where filesNow[id + ".age"] != sealed {
                problems.append(Problem(kind: "the work tree differs from HEAD after the next command", detail: "\(id).age"))
            }
            do {
                let listed = try listedValues()
                if listed != state {
                    problems.append(Problem(kind: "`coffer list --show-values` differs from HEAD after the next command",
                                            detail: "listed \(listed.keys.sorted()), HEAD \(state.keys.sorted())"))
                }
            } catch {
                problems.append(Problem(kind: "`coffer list --show-values` fails after the next command", detail: "\(error)"))
            }

            if problems.isEmpty {
                model = newModel
                continue
            }
            var wedged = ""
            if !gitLocks.isEmpty {
                // What the stale lock does to the vault: can it still be written?
                wedged = "; a further write: " + (try runCoffer("set", ["probe\(trial)=p"])).summary
            }
            let summary = "trial \(trial) (seed \(seed)): \(operation.kind) \(operation.ids) killed at \(String(format: "%.1f", delay * 1000)) ms, "
                + "\(situation): "
                + problems.map { "\($0.kind) [\($0.detail)]" }.joined(separator: "; ") + wedged
            failedTrials.append((trial, summary))
            for problem in problems {
                let entry = problemsByKind[problem.kind] ?? (0, summary)
                problemsByKind[problem.kind] = (entry.count + 1, entry.example)
            }
            // Go on with a fresh vault, so one broken vault does not fail every later trial.
            generation += 1
            model = try seedVault("vault-\(generation)")
        }

        let elapsed = Date().timeIntervalSince(clock)
        print("""
            crash-safety: \(trials) kills (seed \(seed)), normal run \(String(format: "%.1f", normal * 1000)) ms, \
            delays 0–\(String(format: "%.1f", maxDelay * 1000)) ms (\(earlyKills) within the first ms); \
            HEAD old: \(landedOld), new (killed after the commit point): \(landedNew), \
            finished before the kill: \(finished); work tree repaired by the next command: \(repaired); \
            trials with problems: \(failedTrials.count); \(String(format: "%.1f", elapsed)) s
            """)
        for (kind, entry) in problemsByKind.sorted(by: { $0.key < $1.key }) {
            XCTFail("\(entry.count) of \(trials) kills: \(kind). First: \(entry.example)")
        }
    }

    // MARK: the states a kill leaves at each step, made deterministically

    // The random kills above show these states happen; here each one is built
    // by hand (a finished `coffer` write, rewound to where SIGKILL would have
    // stopped it) so every command's repair is checked every run (the
    // helpers are in KilledWriteStates.swift).

    /// A vault with four secrets; returns their values.
    private func startingVault(_ name: String) throws -> [String: String] {
        try makeVault(name)
        let values = ["a": "a-old-\(token())", "b": "b-old-\(token())", "c": "c-old-\(token())", "deep/x": "x-old-\(token())"]
        try mustCoffer("set", values.map { "\($0.key)=\($0.value)" })
        return values
    }

    /// A kill right after HEAD moved (the commit point), before any work-tree
    /// file or the index was written: HEAD new, journal present, work tree and
    /// index old. Every command must first finish the write, so it answers
    /// from the new state, and leave the vault clean.
    func testEveryCommandFinishesAWriteKilledRightAfterTheCommitPoint() throws {
        typealias Check = (_ result: AtomicityOutcome, _ state: inout [String: String]) -> Void
        struct Case {
            let interrupted: [String]   // the killed command (set or rm)
            let next: [String]          // the command that must repair
            let check: Check
        }
        let newA = "a-new-\(token())", newN = "n-new-\(token())", newM = "m-new-\(token())"
        let killedSet = ["set", "a=\(newA)", "n=\(newN)", "sub/dir/m=\(newM)"]
        let killedRm = ["rm", "b", "deep/x"]
        func succeeds(_ result: AtomicityOutcome, _ label: String, line: UInt = #line) -> Bool {
            XCTAssertTrue(result.succeeded, "\(label): \(result.summary)", line: line)
            return result.succeeded
        }
        let cases: [Case] = [
            Case(interrupted: killedSet, next: ["list"]) { result, state in
                if succeeds(result, "list") { XCTAssertEqual(result.stdoutText, listTable(state.keys.sorted()), "list") }
            },
            Case(interrupted: killedSet, next: ["get", "n", "--reveal"]) { result, _ in
                if succeeds(result, "get of a secret the killed set added") { XCTAssertEqual(result.stdoutText, newN) }
            },
            Case(interrupted: killedSet, next: ["get", "sub/dir/m", "--reveal"]) { result, _ in
                if succeeds(result, "get of a secret the killed set added in a new directory") { XCTAssertEqual(result.stdoutText, newM) }
            },
            Case(interrupted: killedSet, next: ["get", "a", "--reveal"]) { result, _ in
                if succeeds(result, "get of a secret the killed set overwrote") { XCTAssertEqual(result.stdoutText, newA) }
            },
            Case(interrupted: killedSet, next: ["set", "c=c2"]) { result, state in
                if succeeds(result, "set") { state["c"] = "c2" }
            },
            Case(interrupted: killedSet, next: ["rm", "n"]) { result, state in
                if succeeds(result, "rm of a secret the killed set added") { state["n"] = nil }
            },
            Case(interrupted: killedSet, next: ["mv", "n", "moved"]) { result, state in
                if succeeds(result, "mv of a secret the killed set added") { state["moved"] = state["n"]; state["n"] = nil }
            },
            Case(interrupted: killedRm, next: ["list"]) { result, state in
                if succeeds(result, "list") { XCTAssertEqual(result.stdoutText, listTable(state.keys.sorted()), "list") }
            },
            Case(interrupted: killedRm, next: ["get", "b", "--reveal"]) { result, _ in
                XCTAssertEqual(result.exitStatus, 1, "get of a secret the killed rm removed: \(result.summary)")
                XCTAssertTrue(result.stderrText.contains("no secret b"), result.summary)
                XCTAssertEqual(result.stdoutText, "", "get of a removed secret printed a value")
            },
            Case(interrupted: killedRm, next: ["set", "b=again"]) { result, state in
                if succeeds(result, "set of a secret the killed rm removed") { state["b"] = "again" }
            },
        ]
        for (n, item) in cases.enumerated() {
            let label = "`coffer \(item.interrupted.joined(separator: " "))` killed after the commit point, then `coffer \(item.next.joined(separator: " "))`"
            var state = try startingVault("vault-\(n)")
            let before = try snapshot()
            try mustCoffer(item.interrupted[0], Array(item.interrupted.dropFirst()))
            let new = try revParse("HEAD")
            let head = try tree("HEAD")
            for argument in item.interrupted.dropFirst() {
                if let eq = argument.firstIndex(of: "=") {
                    state[String(argument[..<eq])] = String(argument[argument.index(after: eq)...])
                } else {
                    state[argument] = nil
                }
            }
            try rewindWorkTree(to: before, old: before.head, new: new)
            try restoreIndex(before)
            try writeJournal(old: before.head, new: new)

            let failures = testRun?.totalFailureCount ?? 0
            let result = try runCoffer(item.next[0], Array(item.next.dropFirst()))
            item.check(result, &state)
            // A command that already answered wrongly leaves the vault unrepaired; say so once.
            guard testRun?.totalFailureCount ?? 0 == failures else { continue }
            // The killed write itself must be complete in HEAD whatever the next command did.
            if item.next[0] == "list" || item.next[0] == "get" {
                XCTAssertEqual(try revParse("HEAD"), new, "\(label): HEAD moved")
                XCTAssertEqual(try tree("HEAD"), head, "\(label): HEAD changed")
            }
            try assertRepaired(state, label)
        }
    }

    /// A kill while libgit2 held the branch's lock file during the
    /// compare-and-swap of HEAD (objects and journal written, HEAD still old):
    /// a stale `refs/heads/<branch>.lock` is left. The vault is at the old
    /// state and must stay writable.
    func testAKillDuringTheHeadUpdateDoesNotWedgeTheVault() throws {
        var state = try startingVault("vault")
        let before = try snapshot()
        try mustCoffer("set", ["a=never-committed", "n=never-committed"])
        let new = try revParse("HEAD")
        let branch = try mustGit(["symbolic-ref", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try mustGit(["update-ref", branch, before.head, new])
        try rewindWorkTree(to: before, old: before.head, new: new)
        try restoreIndex(before)
        try writeJournal(old: before.head, new: new)
        try Data((new + "\n").utf8).write(to: URL(fileURLWithPath: vault + "/.git/" + branch + ".lock"))

        let list = try runCoffer("list", [])
        XCTAssertEqual(list.stdoutText, listTable(state.keys.sorted()), "list: \(list.summary)")
        let set = try runCoffer("set", ["c=after-the-kill"])
        guard set.succeeded else {
            return XCTFail("a kill during the HEAD update wedges the vault: \(set.summary); left behind: \(leftovers())")
        }
        state["c"] = "after-the-kill"
        try assertRepaired(state, "after a kill during the HEAD update")
    }

    /// A kill while the index was being written (HEAD and work tree new,
    /// journal present): coffer's `.git/index.lock`, holding the journal's
    /// token, and the index libgit2 was writing under `.coffer-tmp-` names.
    /// The next command must finish the write and remove the lock (it is
    /// coffer's, and says so), and the vault must stay readable and writable.
    func testAKillDuringTheIndexWriteDoesNotWedgeTheVault() throws {
        var state = try startingVault("vault")
        let before = try snapshot()
        try mustCoffer("set", ["a=a-new", "n=n-new"])
        state["a"] = "a-new"
        state["n"] = "n-new"
        let new = try revParse("HEAD")
        try restoreIndex(before)
        let token = "0badc0ffee0ddba11c0ffee0ddba11ed"
        try writeJournal(old: before.head, new: new, indexLockToken: token)
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: vault + "/.git/index.lock"))
        try before.index.write(to: URL(fileURLWithPath: vault + "/.git/.coffer-tmp-index"))
        try before.index.prefix(before.index.count / 2).write(to: URL(fileURLWithPath: vault + "/.git/.coffer-tmp-index.lock"))

        let list = try runCoffer("list", [])
        XCTAssertEqual(list.stderrText, "", "the lock is coffer's own: nothing to report")
        let set = try runCoffer("set", ["c=after-the-kill"])
        guard list.succeeded, set.succeeded else {
            return XCTFail("a kill during the index write wedges the vault: \(list.summary); \(set.summary)")
        }
        state["c"] = "after-the-kill"
        try assertRepaired(state, "after a kill during the index write")
    }

    /// A kill at each step of the index write (debug builds stop there on
    /// `COFFER_TEST_CRASH_AT`): the new index written but not flushed,
    /// flushed but not renamed, renamed but the lock and journal not yet
    /// removed. Each time the next command must finish the write, after
    /// which stock git sees a clean work tree and a sound repository — also
    /// once the index spliced by coffer is changed by git itself.
    func testAKillAtEachStepOfTheIndexWriteIsRepaired() throws {
        var state = try startingVault("vault")
        for (step, point) in ["index-written", "index-synced", "index-renamed"].enumerated() {
            let value = "\(point)-\(token())"
            let killed = try runCoffer("set", ["b=\(value)", "new\(step)=\(value)"], environment: ["COFFER_TEST_CRASH_AT": point])
            XCTAssertEqual(killed.signal, SIGKILL, "\(point): the set was not stopped there: \(killed.summary)")
            state["b"] = value
            state["new\(step)"] = value
            try mustCoffer("list", [])
            try assertRepaired(state, "after a kill at \(point)")
        }
        // git's own index write over coffer's splice.
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: vault + "/notes.txt"))
        XCTAssertTrue(try runGit(["add", "notes.txt"]).succeeded)
        XCTAssertTrue(try runGit(["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "notes"]).succeeded)
        let status = try runGit(["status", "--porcelain", "--untracked-files=all"])
        XCTAssertEqual(status.stdoutText, "", "after git's own commit")
    }

    /// A kill while a sealed file was being written to its temporary name
    /// (HEAD new, journal present, a partial `.coffer-tmp-*` beside the
    /// target), and one while the journal itself was being written (HEAD old,
    /// a partial `.git/.coffer-tmp-*`). The next command must not leave either.
    func testAKillDuringATemporaryFileWriteLeavesNothingBehind() throws {
        var state = try startingVault("vault")
        let before = try snapshot()
        try mustCoffer("set", ["a=a-new", "deep/x=x-new"])
        state["a"] = "a-new"
        state["deep/x"] = "x-new"
        let new = try revParse("HEAD")
        let sealed = try tree("HEAD")
        try rewindWorkTree(to: before, old: before.head, new: new)
        try restoreIndex(before)
        try writeJournal(old: before.head, new: new)
        let partial = sealed["deep/x.age"]!.prefix(40)
        try partial.write(to: URL(fileURLWithPath: vault + "/deep/.coffer-tmp-Kx9QzA"))
        chmod(vault + "/deep/.coffer-tmp-Kx9QzA", 0o600)

        let get = try runCoffer("get", ["deep/x", "--reveal"])
        XCTAssertEqual(get.stdoutText, "x-new", "get after a kill during a work-tree write: \(get.summary)")
        try assertRepaired(state, "after a kill during a work-tree file write")

        // The journal's own temporary file: the kill came before HEAD moved.
        unlink(vault + "/deep/.coffer-tmp-Kx9QzA")
        try Data("old \(new)\nne".utf8).write(to: URL(fileURLWithPath: vault + "/.git/.coffer-tmp-J0urn1"))
        let set = try runCoffer("set", ["c=after-the-kill"])
        XCTAssertTrue(set.succeeded, set.summary)
        if set.succeeded { state["c"] = "after-the-kill" }
        try assertRepaired(state, "after a kill during the journal write")
    }

    /// A kill while this clone's trust state was being replaced (named, not
    /// yet renamed, under `.git/coffer`): the next write sweeps a dead
    /// process's temporary file, and leaves one whose process still runs (a
    /// reader saves trust state without the vault lock).
    func testAKilledTrustStateWriteIsSweptAndALiveOneKept() throws {
        var state = try startingVault("vault")
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = vault + "/.git/coffer/.coffer-tmp-\(finished.processIdentifier)-123"
        let live = vault + "/.git/coffer/.coffer-tmp-\(getpid())-456"
        for path in [dead, live] { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }
        let set = try runCoffer("set", ["c=after-the-kill"])
        XCTAssertTrue(set.succeeded, set.summary)
        if set.succeeded { state["c"] = "after-the-kill" }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead), "a dead writer's temporary file was left")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's temporary file was removed")
        unlink(live)
        try assertRepaired(state, "after a kill during a trust state write")
    }
}
