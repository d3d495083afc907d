import Foundation
import GitStore
import TestServers
import XCTest

/// Base class of the transfer tests: starts test servers (a missing tool
/// skips locally and fails when CI=true), sets environment variables for
/// one test and restores them, and makes commits with the stock git CLI.
class TransferTestCase: GitTestCase {
    private var savedEnvironment: [String: String?] = [:]
    private var servers: [() -> Void] = []

    override func tearDownWithError() throws {
        servers.reversed().forEach { $0() }
        servers = []
        for (name, value) in savedEnvironment {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        savedEnvironment = [:]
        try super.tearDownWithError()
    }

    /// Starts a server, stopped in tearDown.
    func start<Server>(_ make: () throws -> Server, stop: @escaping (Server) -> Void,
                       file: StaticString = #filePath, line: UInt = #line) throws -> Server {
        do {
            let server = try make()
            servers.append { stop(server) }
            return server
        } catch let missing as MissingTool {
            if TestTools.isCI {
                XCTFail("CI=true and \(missing); the transfer tests need it", file: file, line: line)
                throw missing
            }
            throw XCTSkip("\(missing); the transfer tests need it")
        }
    }

    func startSSH(file: StaticString = #filePath, line: UInt = #line) throws -> SSHServer {
        try start({ try SSHServer() }, stop: { $0.stop() }, file: file, line: line)
    }

    func startHTTP(file: StaticString = #filePath, line: UInt = #line) throws -> HTTPGitServer {
        try start({ try HTTPGitServer() }, stop: { $0.stop() }, file: file, line: line)
    }

    /// Sets (or with nil unsets) an environment variable until tearDown.
    func setEnvironment(_ name: String, _ value: String?) {
        if savedEnvironment[name] == nil {
            savedEnvironment[name] = .some(ProcessInfo.processInfo.environment[name])
        }
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }

    /// Credentials that trust only `knownHosts`, use no agent, key files
    /// or credential helper unless given.
    func credentials(knownHosts: [String] = [], keyFiles: [String] = [], agent: Bool = false,
                     helper: Bool = false, user: String = TestTools.userName) throws -> TransferCredentials {
        TransferCredentials(useSSHAgent: agent, sshKeyFiles: keyFiles, sshUser: user, knownHostsFiles: knownHosts,
                            useCredentialHelper: helper, allowTerminalPrompt: false, gitProgram: gitPath,
                            sshKeygenProgram: try TestTools.require("ssh-keygen"))
    }

    /// Writes `path` and commits it with the stock git CLI; the new HEAD.
    @discardableResult
    func commitFile(_ repo: GitRepository, _ path: String, _ text: String,
                    file: StaticString = #filePath, line: UInt = #line) throws -> ObjectID {
        try writeWorkTreeFile(repo, path, Array(text.utf8))
        try git(repo, "add", path, file: file, line: line)
        try git(repo, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "write \(path)",
                file: file, line: line)
        return try XCTUnwrap(repo.head(), file: file, line: line)
    }

    /// The commit `ref` names in `repo`, per the stock git CLI (nil if none).
    func gitRevParse(_ repo: GitRepository, _ ref: String) throws -> String? {
        let result = try git(repo, "rev-parse", "--verify", "-q", ref, allowFailure: true)
        return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// The commit `ref` names in the bare repository at `path`.
    func bareRevParse(_ path: String, _ ref: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gitPath)
        process.arguments = ["--git-dir", path, "rev-parse", "--verify", "-q", ref]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// `git init --bare` at `dir/name`, HEAD naming `initialBranch` when given.
    func makeBare(_ name: String, initialBranch: String? = nil) throws -> String {
        let path = dir + "/" + name
        var argv = [gitPath!, "init", "-q", "--bare"]
        if let initialBranch { argv += ["--initial-branch", initialBranch] }
        try TestTools.run(argv + [path])
        return path
    }

    /// The full round trip every transport must pass: push a commit to an
    /// empty remote, clone it, push a second commit from the clone, fetch
    /// it back; both sides and the remote agree at each step.
    func roundTrip(url: String, bare: String, credentials: TransferCredentials,
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let first = try makeRepository("first")
        let branch = try self.branch(first)
        let c1 = try commitFile(first, "a.txt", "one\n", file: file, line: line)
        try first.addRemote(name: "origin", url: url)
        let empty = try first.fetch(remote: "origin", credentials: credentials)
        XCTAssertTrue(empty.isEmpty, "fresh remote has branches: \(empty.branches)", file: file, line: line)
        try first.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials)
        XCTAssertEqual(try bareRevParse(bare, "refs/heads/\(branch)"), c1.hex, "remote branch after push", file: file, line: line)
        XCTAssertEqual(try gitRevParse(first, "refs/remotes/origin/\(branch)"), c1.hex, "tracking ref after push", file: file, line: line)

        let second = try GitRepository.clone(url: url, into: dir + "/second", credentials: credentials)
        XCTAssertEqual(try second.head(), c1, "clone's HEAD", file: file, line: line)
        XCTAssertEqual(try String(contentsOfFile: second.workTree + "/a.txt", encoding: .utf8), "one\n", file: file, line: line)
        XCTAssertEqual(try second.upstream(of: branch), Upstream(remote: "origin", branch: branch), file: file, line: line)
        let c2 = try commitFile(second, "b.txt", "two\n", file: file, line: line)
        try second.push(remote: "origin", localBranch: branch, remoteBranch: branch, credentials: credentials)

        let fetched = try first.fetch(remote: "origin", credentials: credentials)
        XCTAssertEqual(fetched.branches, [branch: c2], file: file, line: line)
        XCTAssertEqual(fetched.remote, "origin", file: file, line: line)
        XCTAssertEqual(try gitRevParse(first, "refs/remotes/origin/\(branch)"), c2.hex, "tracking ref after fetch", file: file, line: line)
        XCTAssertEqual(try first.head(), c1, "a fetch never moves the local branch", file: file, line: line)
    }
}
