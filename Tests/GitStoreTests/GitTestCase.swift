import Foundation
import GitStore
import XCTest

/// Base class: a fresh temporary directory per test and the stock `git` CLI
/// to check what libgit2 wrote (missing git skips, or fails when CI=true).
class GitTestCase: XCTestCase {
    private(set) var dir: String!
    private(set) var gitPath: String!
    let author = Signature(name: "Test Author", email: "author@example.com")

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let git = GitTestCase.which("git") else {
            let message = "the git CLI is not on PATH"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail(message)
            }
            throw XCTSkip(message)
        }
        gitPath = git
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("gitstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // Resolve symlinks (e.g. /tmp) so paths compare equal to libgit2's.
        dir = base.resolvingSymlinksInPath().path
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
        try super.tearDownWithError()
    }

    /// A new repository in `dir/name`.
    func makeRepository(_ name: String = "vault") throws -> GitRepository {
        try GitRepository.create(at: dir + "/" + name)
    }

    /// Runs `git -C repo args…`; fails the test on a non-zero exit unless
    /// `allowFailure`. Returns stdout.
    @discardableResult
    func git(_ repo: GitRepository, _ args: String..., allowFailure: Bool = false,
             file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gitPath)
        process.arguments = ["-C", repo.workTree] + args
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let status = process.terminationStatus
        if status != 0 && !allowFailure {
            XCTFail("git \(args.joined(separator: " ")) exited \(status): \(String(decoding: errors, as: UTF8.self))",
                    file: file, line: line)
        }
        return (status, String(decoding: output, as: UTF8.self))
    }

    /// The branch HEAD names (`main`, `master`…).
    func branch(_ repo: GitRepository) throws -> String {
        try git(repo, "symbolic-ref", "--short", "HEAD").output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The unborn branch the stock `git init` starts on in this environment.
    func gitInitBranch() throws -> String {
        let plain = dir + "/plain-git-init"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gitPath)
        process.arguments = ["init", "-q", plain]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "git init")
        let head = try String(contentsOfFile: plain + "/.git/HEAD", encoding: .utf8)
        return head.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "ref: refs/heads/", with: "")
    }

    /// `git ls-tree -r` of `rev` as "path blob" lines.
    func lsTree(_ repo: GitRepository, _ rev: String = "HEAD") throws -> [String] {
        try git(repo, "ls-tree", "-r", "--format=%(path) %(objectname)", rev).output
            .split(separator: "\n").map(String.init)
    }

    /// Writes `text` to the work-tree file `path`, creating directories.
    func writeWorkTreeFile(_ repo: GitRepository, _ path: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: repo.workTree + "/" + path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// `repo.updateIndex` under an index lock taken and released around it, as coffer's transaction does.
    func updateIndex(_ repo: GitRepository, _ changes: [TreeChange]) throws {
        let lock = try IndexLock(gitDirectory: repo.gitDirectory, token: "0123456789abcdef", timeout: 0)
        defer { lock.release() }
        try repo.updateIndex(changes, holding: lock)
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
