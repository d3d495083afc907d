import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a finished command left behind.
struct CommandResult {
    let command: String
    let status: Int32
    let stdout: Data
    let stderr: Data

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// External programs the tests drive.
enum Tools {
    /// The `coffer` executable built next to the test bundle (`.build/debug/coffer`).
    static let coffer: Result<String, TestSetupError> = {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["COFFER_BIN"], !override.isEmpty {
            candidates.append(override)
        }
        // Linux: arguments[0] is `.build/<triple>/debug/cofferPackageTests.xctest`.
        // macOS: the bundle path ends in `….xctest/Contents/MacOS/…`; take the
        // directory that holds the `.xctest`.
        var roots = [URL(fileURLWithPath: CommandLine.arguments[0])]
        roots += Bundle.allBundles.map(\.bundleURL)
        for root in roots {
            var url = root.standardizedFileURL
            while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") {
                url.deleteLastPathComponent()
            }
            if url.lastPathComponent.hasSuffix(".xctest") {
                candidates.append(url.deletingLastPathComponent().appendingPathComponent("coffer").path)
            }
            candidates.append(root.deletingLastPathComponent().appendingPathComponent("coffer").path)
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return .success(candidate)
        }
        return .failure(TestSetupError(
            "the coffer executable was not found next to the test bundle (looked at: \(candidates.joined(separator: ", "))); "
                + "build it with `swift build` or set COFFER_BIN"))
    }()

    /// The Python pty helper, next to this file in the source tree.
    static let ptyHelper: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("pty_run.py").path

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}

/// Base class: a fresh temporary directory per test, and helpers to run the
/// CLIs in it with stdin, stdout and stderr going through files.
class CLITestCase: XCTestCase {
    private(set) var dir: URL!
    private(set) var coffer: String!
    private var ioCounter = 0

    /// Scrypt cost for `coffer age encrypt -p` (debug builds only): keeps tests fast.
    static let testWorkFactor = "10"

    override func setUpWithError() throws {
        try super.setUpWithError()
        switch Tools.coffer {
        case .success(let path): coffer = path
        case .failure(let error):
            XCTFail(error.description)
            throw error
        }
        var template = Array(URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("coffer-e2e-XXXXXX").path.utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestSetupError("mkdtemp failed: errno \(errno)")
        }
        dir = URL(fileURLWithPath: String(cString: made), isDirectory: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".io"), withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
        dir = nil
        try super.tearDownWithError()
    }

    // MARK: files

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let p = path(name)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Permission bits of a file (no type bits).
    func mode(_ name: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path(name))
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o7777
    }

    func randomBytes(_ count: Int) -> Data {
        guard count > 0 else { return Data() }
        let handle = FileHandle(forReadingAtPath: "/dev/urandom")!
        defer { try? handle.close() }
        var data = Data()
        while data.count < count { data += handle.readData(ofLength: count - data.count) }
        return data
    }

    // MARK: processes

    /// Runs `executable` (a path, or a name looked up in PATH) with `arguments`
    /// in the test directory. stdin comes from `stdin` bytes, or the file
    /// `stdinFile`, or /dev/null.
    func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
             environment extra: [String: String] = [:], timeout: TimeInterval = 120,
             file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let resolved = executable.contains("/") ? executable : (Tools.which(executable) ?? executable)
        ioCounter += 1
        let io = dir.appendingPathComponent(".io")
        let inPath = stdinFile ?? (stdin != nil ? io.appendingPathComponent("in.\(ioCounter)").path : "/dev/null")
        if let stdin { try stdin.write(to: URL(fileURLWithPath: inPath)) }
        let outPath = io.appendingPathComponent("out.\(ioCounter)").path
        let errPath = io.appendingPathComponent("err.\(ioCounter)").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            for p in [outPath, errPath] + (stdin != nil ? [inPath] : []) { unlink(p) }
        }
        guard let inHandle = FileHandle(forReadingAtPath: inPath),
              let outHandle = FileHandle(forWritingAtPath: outPath),
              let errHandle = FileHandle(forWritingAtPath: errPath) else {
            throw TestSetupError("cannot open the stdio files for \(executable)")
        }
        defer { try? inHandle.close(); try? outHandle.close(); try? errHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolved)
        process.arguments = arguments
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["COFFER_TEST_SCRYPT_WORK_FACTOR"] = CLITestCase.testWorkFactor
        environment["NO_COLOR"] = "1"
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let shown = ([executable] + arguments).joined(separator: " ")
        try process.run()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            XCTFail("timed out after \(Int(timeout)) s: \(shown)", file: file, line: line)
            throw TestSetupError("timed out: \(shown)")
        }
        let result = CommandResult(
            command: shown,
            status: process.terminationStatus,
            stdout: try Data(contentsOf: URL(fileURLWithPath: outPath)),
            stderr: try Data(contentsOf: URL(fileURLWithPath: errPath)))
        return result
    }

    /// `coffer ARGS…`
    func coffer(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
                file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        try run(coffer, arguments, stdin: stdin, stdinFile: stdinFile, file: file, line: line)
    }

    /// Runs and asserts exit status 0, showing stderr otherwise.
    @discardableResult
    func succeed(_ executable: String, _ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try run(executable, arguments, stdin: stdin, stdinFile: stdinFile, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(result.command) failed: \(result.stderrText)", file: file, line: line)
        if result.status != 0 { throw TestSetupError("\(result.command) exited \(result.status)") }
        return result
    }

    @discardableResult
    func succeedCoffer(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        try succeed(coffer, arguments, stdin: stdin, stdinFile: stdinFile, file: file, line: line)
    }

    /// The path of an external tool the test needs. Missing: a loud failure
    /// under CI=true, a skip elsewhere.
    func requireTool(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        if let found = Tools.which(name) { return found }
        let package = ["python3": "python3", "ssh-keygen": "openssh-client", "git": "git", "Xvfb": "xvfb", "xclip": "xclip", "strace": "strace",
                       "tmux": "tmux", "curl": "curl", "wrk": "wrk"][name] ?? "age"
        let how = name == "schemathesis" ? "pip install schemathesis, as .ci/run does" : "Debian: apt-get install \(package)"
        let message = "`\(name)` is not installed (\(how)); the interoperability, server and terminal tests need it"
        if Tools.isCI {
            XCTFail("CI=true and \(message)", file: file, line: line)
            throw TestSetupError(message)
        }
        throw XCTSkip(message)
    }

    /// Runs a command on a pseudo-terminal through the Python helper, typing
    /// `passphrase` at every passphrase prompt. The result's stdout is what
    /// the terminal showed.
    func runOnTerminal(_ command: [String], passphrase: String?, maxAnswers: Int = 4, timeout: Int = 60,
                       file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let python = try requireTool("python3", file: file, line: line)
        var arguments = [Tools.ptyHelper, "--timeout", String(timeout), "--max-answers", String(maxAnswers)]
        if let passphrase {
            arguments += ["--passphrase-file", try write(".io/pty-passphrase", passphrase + "\n")]
        }
        return try run(python, arguments + ["--"] + command, timeout: TimeInterval(timeout + 30), file: file, line: line)
    }

    // MARK: keys

    struct Key {
        let identityFile: String
        let recipient: String
        let secret: String
    }

    /// A key made by `age-keygen -o`.
    func ageKeygen(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Key {
        let tool = try requireTool("age-keygen", file: file, line: line)
        try succeed(tool, ["-o", path(name)], file: file, line: line)
        let recipient = try succeed(tool, ["-y", path(name)], file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try key(name, recipient: recipient, file: file, line: line)
    }

    /// A key made by `coffer age keygen -o`.
    func cofferKeygen(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Key {
        try succeedCoffer(["age", "keygen", "-o", path(name)], file: file, line: line)
        let recipient = try succeedCoffer(["age", "keygen", "-y", path(name)], file: file, line: line).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try key(name, recipient: recipient, file: file, line: line)
    }

    private func key(_ name: String, recipient: String, file: StaticString, line: UInt) throws -> Key {
        let text = String(decoding: try read(name), as: UTF8.self)
        let secrets = text.split(separator: "\n").filter { $0.hasPrefix("AGE-SECRET-KEY-1") }
        XCTAssertEqual(secrets.count, 1, "\(name) should hold one identity", file: file, line: line)
        XCTAssertTrue(recipient.hasPrefix("age1"), "bad recipient \(recipient)", file: file, line: line)
        return Key(identityFile: path(name), recipient: recipient, secret: String(secrets.first ?? ""))
    }

    // MARK: assertions

    /// Fails if `haystack` contains `needle` (bytes), e.g. a plaintext in stderr.
    func assertDoesNotContain(_ haystack: Data, _ needle: Data, _ what: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        guard !needle.isEmpty else { return }
        XCTAssertNil(haystack.range(of: needle), "output contains \(what)", file: file, line: line)
    }

    /// Fails if a failure's stderr shows plaintext or a secret key, in any case.
    func assertNoLeak(_ result: CommandResult, plaintext: Data?, secrets: [String],
                      file: StaticString = #filePath, line: UInt = #line) {
        if let plaintext {
            assertDoesNotContain(result.stderr, plaintext.prefix(4096), "the plaintext (\(result.command))", file: file, line: line)
        }
        let stderr = result.stderrText.uppercased()
        for secret in secrets where !secret.isEmpty {
            // The data part alone (after the HRP and separator) must not appear either.
            let body = String(secret.uppercased().dropFirst("AGE-SECRET-KEY-1".count))
            XCTAssertFalse(stderr.contains(body), "stderr of \(result.command) shows a secret key", file: file, line: line)
        }
    }

    /// Asserts a coffer failure: exit 1 (or `status`: 64 for a refused
    /// command line), one `coffer: error:` line, nothing secret.
    func assertCofferError(_ result: CommandResult, status: Int32 = 1, plaintext: Data? = nil, secrets: [String] = [],
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "\(result.command): expected exit \(status); stderr: \(result.stderrText)", file: file, line: line)
        XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), "stderr of \(result.command): \(result.stderrText)",
                      file: file, line: line)
        assertNoLeak(result, plaintext: plaintext, secrets: secrets, file: file, line: line)
    }
}

extension Data {
    /// Counts `-> X25519` / `-> scrypt` stanzas in a binary or armored age header.
    func ageStanzaTypes() -> [String] {
        var bytes = self
        let armorBegin = "-----BEGIN AGE ENCRYPTED FILE-----"
        let text = String(decoding: self, as: UTF8.self)
        if text.hasPrefix(armorBegin) {
            let body = text.split(whereSeparator: \.isNewline)
                .filter { !$0.hasPrefix("-----") }
                .joined()
            bytes = Data(base64Encoded: body) ?? Data()
        }
        var types: [String] = []
        let header = String(decoding: bytes.prefix(4096), as: UTF8.self)
        for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("---") { break }
            if line.hasPrefix("-> ") {
                types.append(String(line.dropFirst(3).split(separator: " ").first ?? ""))
            }
        }
        return types
    }
}

/// A `-o table` output read back: the header row's column names, then each
/// row's cells, cut at the columns' offsets in the header (cells are padded to
/// their column's width; the last column runs to the end of the line).
struct TableText: Equatable {
    var header: [String] = []
    var cells: [[String]] = []

    /// Each row by column name.
    var rows: [[String: String]] {
        cells.map { Dictionary(uniqueKeysWithValues: zip(header, $0).map { ($0, $1) }) }
    }

    /// One column, top to bottom.
    func column(_ name: String) -> [String] { rows.map { $0[name] ?? "" } }

    /// Parses a table; empty text is a table with no header and no rows. A
    /// line may stop early (trailing empty cells are not padded). Nil if the
    /// header's names are not single words two spaces apart, or a cell runs
    /// into the next column.
    init?(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { return }
        var starts: [Int] = []
        for (offset, character) in first.enumerated() where character != " " && (offset == 0 || first[offset - 1] == " ") {
            guard offset == 0 || (offset >= 2 && first[offset - 2] == " ") else { return nil }
            starts.append(offset)
        }
        header = starts.indices.map { i in
            String(first[starts[i]..<(i + 1 < starts.count ? starts[i + 1] : first.count)]).trimmingCharacters(in: .whitespaces)
        }
        for line in lines.dropFirst() {
            var row: [String] = []
            for (i, start) in starts.enumerated() {
                let end = i + 1 < starts.count ? min(starts[i + 1], line.count) : line.count
                if i + 1 < starts.count, end > start {
                    // A padded cell ends in spaces before the next column, which must start right after.
                    guard line.count <= starts[i + 1] || line[starts[i + 1] - 1] == " " else { return nil }
                }
                let cell = start < end ? String(line[start..<end]) : ""  // past the line's end: empty
                row.append(i + 1 < starts.count ? cell.trimmingCharacters(in: .whitespaces) : cell)
            }
            cells.append(row)
        }
    }
}

/// What `coffer list` prints for these ids: the header row `ID`, then one id
/// a line; nothing at all for none.
func listTable(_ ids: [String]) -> String {
    ids.isEmpty ? "" : "ID\n" + ids.map { $0 + "\n" }.joined()
}
