import Foundation
import XCTest
import Age

/// A temporary directory per test and the stock tools run in it: `age`
/// (Debian's 1.1.1) and `ssh-keygen` (openssh-client), the peers these tests
/// prove interoperability against.
class ToolTestCase: XCTestCase {
    private(set) var dir = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        var template = Array((NSTemporaryDirectory() + "/coffer-agessh-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            XCTFail("mkdtemp failed")
            throw CocoaError(.fileWriteUnknown)
        }
        dir = String(cString: made)
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
        try super.tearDownWithError()
    }

    func path(_ name: String) -> String { dir + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws -> String {
        let file = path(name)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes), attributes: [.posixPermissions: mode])
        return file
    }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func readSecure(_ name: String) throws -> SecureBytes { SecureBytes(copying: try read(name)) }

    /// A tool's path. Missing: a loud failure under CI=true, a skip elsewhere.
    func requireTool(_ name: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let search = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        if let found = search.map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile) { return found }
        let message = "`\(name)` is not installed (Debian: apt-get install \(package)); the ssh-ed25519 interoperability tests need it"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("CI=true and " + message, file: file, line: line)
            throw NSError(domain: "AgeSSHTests", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
        }
        throw XCTSkip(message)
    }

    struct Result {
        let status: Int32
        let stderr: String
    }

    /// Runs `tool ARGS…` in the test directory, stdin empty, output to files.
    func run(_ tool: String, package: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requireTool(tool, package: package, file: file, line: line))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let (out, err) = (path(".stdout"), path(".stderr"))
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stderr: String(decoding: try read(".stderr"), as: UTF8.self))
    }

    func runOK(_ tool: String, package: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(tool, package: package, arguments, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(tool) \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        if result.status != 0 { throw NSError(domain: "AgeSSHTests", code: 2, userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
    }

    func age(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try runOK("age", package: "age", arguments, file: file, line: line)
    }

    /// `ssh-keygen -q -t TYPE -N PASSPHRASE -C test -f NAME`: NAME and NAME.pub.
    func sshKeygen(_ name: String, type: String = "ed25519", passphrase: String = "",
                   file: StaticString = #filePath, line: UInt = #line) throws {
        try runOK("ssh-keygen", package: "openssh-client",
                  ["-q", "-t", type, "-N", passphrase, "-C", "test@agessh", "-f", name], file: file, line: line)
    }

    func text(_ name: String) throws -> String { String(decoding: try read(name), as: UTF8.self) }

    /// Plaintext of `count` bytes that differ from one another.
    func plaintext(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

    func bytes(_ secure: SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }
}
