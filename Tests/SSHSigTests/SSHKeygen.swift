import Foundation
import XCTest
import Age
import SSHSig

/// The stock `ssh-keygen` (Debian's openssh-client), the peer these tests
/// prove interoperability against, in a temporary directory per test.
class SSHKeygenTestCase: XCTestCase {
    private(set) var dir = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        var template = Array((NSTemporaryDirectory() + "/coffer-sshsig-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw XCTSkip("mkdtemp failed") }
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

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String { try write(name, Array(text.utf8), mode: mode) }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// `ssh-keygen`'s path. Missing: a loud failure under CI=true, a skip elsewhere.
    func sshKeygen(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let search = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        if let found = search.map({ "\($0)/ssh-keygen" }).first(where: FileManager.default.isExecutableFile) { return found }
        let message = "`ssh-keygen` is not installed (Debian: apt-get install openssh-client); the SSH signature interoperability tests need it"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("CI=true and " + message, file: file, line: line)
            throw NSError(domain: "SSHSigTests", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
        }
        throw XCTSkip(message)
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `ssh-keygen ARGS…` in the test directory, stdin from `stdin`.
    func keygen(_ arguments: [String], stdin: [UInt8] = [], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try sshKeygen(file: file, line: line))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let input = try write(".stdin", stdin)
        let (out, err) = (path(".stdout"), path(".stderr"))
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardInput = FileHandle(forReadingAtPath: input)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: try read(".stdout"), as: UTF8.self),
                      stderr: String(decoding: try read(".stderr"), as: UTF8.self))
    }

    @discardableResult
    func keygenOK(_ arguments: [String], stdin: [UInt8] = [], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let result = try keygen(arguments, stdin: stdin, file: file, line: line)
        XCTAssertEqual(result.status, 0, "ssh-keygen \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return result
    }

    /// Our key written as an OpenSSH private key file (0600, as ssh-keygen demands).
    func exportKey(_ key: SSHSigningKey, as name: String, comment: String = "") throws -> String {
        let text = key.openSSHPrivateKey(comment: comment)
        return try write(name, text.withUnsafeBytes { Array($0) }, mode: 0o600)
    }

    func bytes(_ secure: SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }
}
