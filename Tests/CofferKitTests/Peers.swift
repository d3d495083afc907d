import Foundation
import XCTest

/// The stock tools these tests use as peers (git, age, sh).
extension XCTestCase {
    /// The path of a stock tool. Missing, it skips the test — except under
    /// `CI=true`, where the suite must not pass without its peers.
    func tool(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw MissingTool(name: name) }
        throw XCTSkip("\(name) is not installed")
    }

    /// Runs a stock tool in `dir` and returns its output; a non-zero exit
    /// fails unless `expectSuccess` is false. The user's git configuration
    /// never changes what a test sees; commits are made by "peer".
    @discardableResult
    func runPeer(_ name: String, _ arguments: [String], in dir: String, expectSuccess: Bool = true,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try tool(name))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        environment["GIT_AUTHOR_NAME"] = "peer"
        environment["GIT_AUTHOR_EMAIL"] = "peer@coffer.invalid"
        environment["GIT_COMMITTER_NAME"] = "peer"
        environment["GIT_COMMITTER_EMAIL"] = "peer@coffer.invalid"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Small outputs only: read both, then wait.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let result = (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
        if expectSuccess && result.0 != 0 {
            XCTFail("\(name) \(arguments.joined(separator: " ")) exited \(result.0): \(result.2)", file: file, line: line)
        }
        return result
    }
}

struct MissingTool: Error, CustomStringConvertible {
    let name: String
    var description: String { "\(name) is not installed (required under CI=true)" }
}
