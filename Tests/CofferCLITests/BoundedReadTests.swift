import Foundation
import XCTest

/// A huge file dropped at a secret's path, a FIFO, or a value over the
/// limit: coffer refuses before reading it into memory, and never blocks.
final class BoundedReadTests: VaultE2ECase {
    /// `coffer ARGS` under python, reporting exit status and the peak RSS (KiB) of the process.
    private func measured(_ arguments: [String]) throws -> (status: Int, maxRSS: Int, stderr: String) {
        let python = try requireTool("python3")
        let measure = """
            import resource, subprocess, sys
            p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            sys.stderr.write(p.stderr.decode(errors="replace"))
            print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            """
        let result = try run(python, ["-c", measure, coffer] + arguments, environment: vaultEnvironment())
        let fields = result.stdoutText.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard fields.count == 2 else { throw TestSetupError("cannot parse \(result.stdoutText) \(result.stderrText)") }
        return (fields[0], fields[1], result.stderrText)
    }

    func testAHugeFileAtASecretsPathIsRefusedUnread() throws {
        _ = try initVault()
        try cofOK(["set", "small", "--stdin"], stdin: Data("v".utf8))
        // 2 GiB, sparse: dropped into the tree, never committed.
        let huge = vaultDir + "/huge.age"
        XCTAssertTrue(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: 2 << 30)
        try handle.close()

        let get = try measured(["get", "huge", "--reveal"])
        XCTAssertEqual(get.status, 1, get.stderr)
        XCTAssertTrue(get.stderr.contains("huge is 2147483648 bytes; coffer reads secrets up to"), get.stderr)
        XCTAssertLessThan(get.maxRSS, 64 * 1024, "peak RSS \(get.maxRSS) KiB: the file was read")
        XCTAssertEqual(try cofOK(["get", "small", "--reveal"], clean: false).stdout, Data("v".utf8), "other secrets are unaffected")
    }

    func testAFIFOAtASecretsPathNeverBlocks() throws {
        _ = try initVault()
        XCTAssertEqual(mkfifo(vaultDir + "/pipe.age", 0o644), 0)
        let get = try cof(["get", "pipe"], clean: false)
        XCTAssertEqual(get.status, 1)
        XCTAssertEqual(get.stderrText.split(separator: "\n").first, "coffer: error: no secret pipe")
        let commits = try commitCount()
        let set = try cof(["set", "pipe", "--stdin"], stdin: Data("v".utf8), clean: false)
        XCTAssertEqual(set.status, 1)
        XCTAssertEqual(set.stderrText.split(separator: "\n").first, "coffer: error: pipe.age in the vault is not a regular file; coffer does not write over it")
        XCTAssertEqual(try commitCount(), commits, "refused before the commit point")
    }

    func testAValueOverTheLimitIsRefusedBeforeSealing() throws {
        _ = try initVault()
        let commits = try commitCount()
        let big = try write("big", Data(count: (16 << 20) + 1))
        let set = try cof(["set", "big", "--file", big])
        XCTAssertEqual(set.status, 1)
        XCTAssertTrue(set.stderrText.contains("big is 16777217 bytes; coffer reads secrets up to 16777216 bytes"), set.stderrText)
        XCTAssertEqual(try commitCount(), commits)
    }
}
