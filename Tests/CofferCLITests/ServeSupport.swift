import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A running `coffer serve` (started through `coffer serve`, so the
/// hand-over to coffer-serve is exercised too), on a port the kernel picks,
/// its standard error kept in a file.
final class ServeProcess {
    let process = Process()
    let logPath: String
    private(set) var address = ""

    init(_ test: VaultE2ECase, _ arguments: [String] = [], env: [String: String] = [:], waitForListening: Bool = true) throws {
        logPath = test.path(".io/serve-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw TestSetupError("cannot create \(logPath)") }
        process.executableURL = URL(fileURLWithPath: test.coffer)
        process.arguments = ["serve"] + (arguments.contains("--socket") || arguments.contains("--listen") ? [] : ["--listen", "127.0.0.1:0"])
            + arguments
        process.environment = test.vaultEnvironment(env)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        guard waitForListening else { return }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = log.split(separator: "\n").first(where: { $0.contains("coffer serve: listening on ") }) {
                if let range = line.range(of: "http://") {
                    address = String(line[range.upperBound...].prefix { $0 != " " })
                } else {
                    address = "unix"
                }
                return
            }
            guard process.isRunning else { throw TestSetupError("coffer serve exited \(process.terminationStatus): \(log)") }
            usleep(20_000)
        }
        stop()
        throw TestSetupError("coffer serve did not start listening: \(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var pid: Int32 { process.processIdentifier }

    /// The server's resident memory, in KiB (from /proc).
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// The exit status of a server that stops by itself (one refusing to start).
    func exitStatus(within seconds: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, and the exit status once it has stopped.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

/// One answer from the server, as curl received it.
struct HTTPAnswer {
    let status: Int
    let headers: [String: String]
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var detail: String { json["detail"] as? String ?? text }
}

extension VaultE2ECase {
    /// `curl` from the test: a real HTTP client. `socket`: over a Unix socket.
    func http(_ method: String, _ server: ServeProcess, _ route: String, token: String? = nil, body: String? = nil,
              headers: [String: String] = [:], socket: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> HTTPAnswer {
        let curl = try requireTool("curl", file: file, line: line)
        let id = UUID().uuidString
        let bodyOut = path(".io/http-\(id).body"), headersOut = path(".io/http-\(id).headers")
        var arguments = ["-sS", "--path-as-is", "-X", method, "-o", bodyOut, "-D", headersOut, "-w", "%{http_code}", "--max-time", "30"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@" + (try write(".io/http-\(id).request", body))] }
        if let socket { arguments += ["--unix-socket", socket] }
        arguments.append((socket == nil ? "http://\(server.address)" : "http://localhost") + route)
        let result = try run(curl, arguments, file: file, line: line)
        guard result.status == 0, let status = Int(result.stdoutText) else {
            throw TestSetupError("curl \(method) \(route) failed: \(result.stderrText)")
        }
        var fields: [String: String] = [:]
        for header in (try String(contentsOfFile: headersOut, encoding: .utf8)).split(separator: "\r\n").dropFirst() {
            guard let colon = header.firstIndex(of: ":") else { continue }
            fields[header[..<colon].lowercased()] = String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return HTTPAnswer(status: status, headers: fields, body: (try? Data(contentsOf: URL(fileURLWithPath: bodyOut))) ?? Data())
    }

    /// `coffer token create ARGS…`: the token it prints once.
    func makeToken(_ arguments: [String]) throws -> String {
        try cofOK(["token", "create"] + arguments).stdoutText.trimmingCharacters(in: .newlines)
    }
}
