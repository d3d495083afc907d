import Age
import AgePlugin
import Foundation
import XCTest

/// A temporary bin directory holding the python3 test plugin
/// (Fixtures/age-plugin-coffertest), its keys, and a log of its sessions.
final class PluginFixture {
    let directory: String
    let bin: String
    let sessionsLog: String
    let python: String
    let identityText: String
    let recipient: PluginRecipient

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/age-plugin-coffertest").path

    init() throws {
        python = try PluginFixture.require("python3", package: "python3")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-plugin-\(UUID().uuidString.prefix(8))")
            .resolvingSymlinksInPath().path
        bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PluginFixture.fixture, toPath: bin + "/age-plugin-coffertest")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/age-plugin-coffertest")
        sessionsLog = directory + "/sessions"
        let keys = try PluginFixture.keys(seed: "0", python: python)
        identityText = keys.identity
        recipient = try PluginRecipient(parsing: keys.recipient)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var identity: PluginIdentity { try! PluginIdentity(parsing: Array(identityText.utf8)) }

    /// The plugin's deterministic key pair for `seed`.
    static func keys(seed: String, python: String) throws -> (identity: String, recipient: String) {
        let lines = try run([python, fixture, "--keygen", seed]).split(separator: "\n").map(String.init)
        return (lines[0], lines[1])
    }

    /// A client that finds the plugin in `bin` only, with a test-sized timeout.
    func client(mode: String = "normal", prompter: PluginPrompter = NoPrompter(), timeout: Double = 2,
                extra: [String: String] = [:]) -> PluginClient {
        PluginClient(prompter: prompter, searchPath: bin, timeout: timeout,
                     environment: ["COFFERTEST_MODE": mode, "COFFERTEST_SESSIONS": sessionsLog].merging(extra) { $1 })
    }

    /// The sessions the plugin logged, one line each ("recipient-v1 files=…").
    var sessions: [String] {
        ((try? String(contentsOfFile: sessionsLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// PATH for stock age: the plugin's directory first, then ours (for python3).
    var agePath: String { bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") }

    /// The path of a tool the test needs: missing, a failure under CI=true, a skip elsewhere.
    static func require(_ name: String, package: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in path where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let message = "`\(name)` is not installed (Debian: apt-get install \(package)); the age plugin tests need it"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("CI=true and " + message)
            throw TestSetupError(message)
        }
        throw XCTSkip(message)
    }

    /// Runs `argv` to its end; throws with its stderr unless it exits 0. Returns stdout.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String] = [:], input: Data? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError("\(argv.joined(separator: " ")) exited \(process.terminationStatus): " + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Our children that exited and were never reaped, from /proc (reaping
/// with waitpid(-1) here would hide the very leak the tests look for).
func zombieChildren() -> [Int32] {
    let me = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && fields[0] == "Z" && Int32(fields[1]) == me
    }
}

/// Answers every request as the prompts mode of the test plugin expects, and records them.
final class RecordingPrompter: PluginPrompter {
    var seen: [String] = []
    let pin: String

    init(pin: String) { self.pin = pin }

    func message(_ text: String) throws { seen.append("msg: \(text)") }
    func confirm(_ text: String, yes: String, no: String?) throws -> Bool {
        seen.append("confirm: \(text) [\(yes)/\(no ?? "-")]")
        return true
    }
    func requestPublic(_ text: String) throws -> String {
        seen.append("public: \(text)")
        return "coffer user"
    }
    func requestSecret(_ text: String) throws -> SecureBytes {
        seen.append("secret: \(text)")
        return SecureBytes(copying: Array(pin.utf8))
    }
}

extension SecureBytes {
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
