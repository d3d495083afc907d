import Foundation
import GitStore
import XCTest

/// `git gc` and `git pack-refs` hold a branch's lock file for a moment;
/// moving HEAD then waits for it (up to `refLockWait`) instead of failing.
final class RefLockTests: GitTestCase {
    /// A repository with one commit on its branch, a second commit ready,
    /// and the path of the branch's lock file.
    private func repositoryWithNextCommit() throws -> (GitRepository, base: ObjectID, next: ObjectID, lock: String) {
        let repo = try makeRepository()
        let base = try repo.createCommit(parent: nil, changes: [.write(path: "a.age", blob: repo.writeBlob([1]))],
                                         message: "base", author: author)
        try repo.advanceHead(from: nil, to: base, message: "base")
        let next = try repo.createCommit(parent: base, changes: [.write(path: "a.age", blob: repo.writeBlob([2]))],
                                         message: "next", author: author)
        return (repo, base, next, repo.gitDirectory + "/refs/heads/" + (try branch(repo)) + ".lock")
    }

    /// Creates `path` now and removes it after `seconds`, from another process.
    private func hold(_ path: String, for seconds: Double) throws -> Process {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep \(seconds); rm -f \"$0\"", path]
        try process.run()
        return process
    }

    func testAdvanceHeadWaitsForALockHeldBriefly() throws {
        let (repo, _, next, lock) = try repositoryWithNextCommit()
        repo.refLockWait = 10
        let holder = try hold(lock, for: 0.5)
        defer { holder.waitUntilExit() }
        let started = Date()
        try repo.advanceHead(from: try repo.head(), to: next, message: "next")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.3, "it waited for the lock")
        XCTAssertEqual(try repo.head(), next)
        XCTAssertEqual(try git(repo, "rev-parse", "HEAD").output, "\(next)\n")
    }

    func testAdvanceHeadGivesUpOnALockHeldPastTheWaitAndNamesIt() throws {
        let (repo, base, next, lock) = try repositoryWithNextCommit()
        repo.refLockWait = 0.3
        XCTAssertTrue(FileManager.default.createFile(atPath: lock, contents: nil))
        let started = Date()
        XCTAssertThrowsError(try repo.advanceHead(from: base, to: next, message: "next")) { error in
            guard case GitError.refLocked(let ref, let lockFile, 0.3)? = error as? GitError else { return XCTFail("\(error)") }
            XCTAssertEqual(lockFile, lock)
            XCTAssertTrue(ref.hasPrefix("refs/heads/"), ref)
            XCTAssertTrue("\(error)".contains(lock) && "\(error)".contains("another git process"), "\(error)")
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(try repo.head(), base, "HEAD did not move")
        XCTAssertTrue(FileManager.default.fileExists(atPath: lock), "another process's lock is never removed")
    }

    func testWithoutAWaitALockedRefFailsAtOnce() throws {
        let (repo, base, next, lock) = try repositoryWithNextCommit()
        XCTAssertTrue(FileManager.default.createFile(atPath: lock, contents: nil))
        XCTAssertThrowsError(try repo.advanceHead(from: base, to: next, message: "next")) { error in
            guard case GitError.refLocked(_, _, 0)? = error as? GitError else { return XCTFail("\(error)") }
        }
    }
}
