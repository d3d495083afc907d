import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `git gc` and `git pack-refs` take a branch's lock file for a moment. A
/// `set` that meets it waits (within the vault's lock wait) and succeeds;
/// held past the wait, it fails naming the lock file, with HEAD and the
/// work tree unchanged.
final class GitLockTests: VaultE2ECase {
    private var branchLock: String {
        get throws {
            let branch = try gitOK(["symbolic-ref", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            return vaultDir + "/.git/" + branch + ".lock"
        }
    }

    /// Creates `path` now (as git does, O_EXCL) and has another process
    /// remove it after `seconds`.
    private func hold(_ path: String, for seconds: Double) throws -> Process {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep \(seconds); rm -f \"$0\"", path]
        try process.run()
        return process
    }

    private func timed(_ body: () throws -> CommandResult) rethrows -> (CommandResult, Double) {
        let started = Date()
        let result = try body()
        return (result, Date().timeIntervalSince(started))
    }

    func testSetWaitsForABranchLockHeldBriefly() throws {
        _ = try initVault()
        try cofOK(["set", "dev/a=1"])
        let before = try head()
        let holder = try hold(try branchLock, for: 0.5)
        defer { holder.waitUntilExit() }
        let (set, seconds) = try timed { try cofOK(["set", "dev/a=2"], env: ["COFFER_LOCK_TIMEOUT": "10"]) }
        XCTAssertEqual(set.status, 0)
        XCTAssertGreaterThan(seconds, 0.3, "set waited for the lock")
        XCTAssertEqual(try gitOK(["rev-parse", "HEAD^"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), before)
        XCTAssertEqual(try reveal("dev/a"), Data("2".utf8))
    }

    func testABranchLockHeldPastTheWaitFailsNamingItAndChangesNothing() throws {
        _ = try initVault()
        try cofOK(["set", "dev/a=1"])
        let before = try head(), lock = try branchLock
        let files = snapshot().filter { !$0.key.hasPrefix(".git/") }
        XCTAssertTrue(FileManager.default.createFile(atPath: lock, contents: nil))
        let (refused, seconds) = try timed { try cof(["set", "dev/a=2", "dev/b=3"], env: ["COFFER_LOCK_TIMEOUT": "1"], clean: false) }
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertGreaterThanOrEqual(seconds, 1, "it waited the whole lock wait")
        XCTAssertEqual(refused.stderrText.split(separator: "\n").first.map(String.init),
                       "coffer: error: the vault's branch is locked by another git process (git gc or pack-refs, perhaps): "
                       + "\(lock) was held for all of the 1 s coffer waited")
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: wait for that git command to finish"), refused.stderrText)
        XCTAssertEqual(try head(), before, "HEAD unchanged")
        assertSameSnapshot(files, snapshot().filter { !$0.key.hasPrefix(".git/") }, "a set refused at the branch lock")
        XCTAssertTrue(fileExists(lock), "another process's lock is never removed")

        unlink(lock)
        XCTAssertEqual(try reveal("dev/a"), Data("1".utf8))
        try cofOK(["set", "dev/a=2"])
        XCTAssertEqual(try reveal("dev/a"), Data("2".utf8))
        XCTAssertEqual(try cof(["verify"]).status, 0)
    }

    /// libgit2 moves a packed branch by writing a loose ref: `packed-refs.lock`
    /// (what pack-refs holds longest) does not stand in its way.
    func testPackedRefsLockDoesNotHoldUpSet() throws {
        _ = try initVault()
        try cofOK(["set", "dev/a=1"])
        try gitOK(["pack-refs", "--all"])
        XCTAssertFalse(fileExists(try branchLock.replacingOccurrences(of: ".lock", with: "")), "the branch is packed")
        let lock = vaultDir + "/.git/packed-refs.lock"
        XCTAssertTrue(FileManager.default.createFile(atPath: lock, contents: nil))
        defer { unlink(lock) }
        let (set, seconds) = try timed { try cofOK(["set", "dev/a=2"], env: ["COFFER_LOCK_TIMEOUT": "5"]) }
        XCTAssertEqual(set.status, 0)
        XCTAssertLessThan(seconds, 5)
        XCTAssertEqual(try reveal("dev/a"), Data("2".utf8))
    }
}
