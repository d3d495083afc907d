#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GitStore
import Posix
import XCTest

final class IndexLockTests: GitTestCase {
    private let token = "00112233445566778899aabbccddeeff"

    private func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func testTheLockHoldsItsTokenAndIsReleasedOnlyByItsOwner() throws {
        let repo = try makeRepository()
        let path = repo.gitDirectory + "/index.lock"
        let lock = try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 0)
        XCTAssertEqual(contents(path), token + "\n")
        XCTAssertTrue(IndexLock.isHeld(gitDirectory: repo.gitDirectory, token: token))
        XCTAssertFalse(IndexLock.isHeld(gitDirectory: repo.gitDirectory, token: "ff"))
        XCTAssertFalse(IndexLock.removeIfHeld(gitDirectory: repo.gitDirectory, token: "ff"))
        XCTAssertNotNil(contents(path))

        // git sees it as held: it refuses to write the index.
        try writeWorkTreeFile(repo, "notes.txt", Array("n".utf8))
        XCTAssertNotEqual(try git(repo, "add", "notes.txt", allowFailure: true).status, 0)

        lock.release()
        XCTAssertNil(contents(path))
        XCTAssertEqual(try git(repo, "add", "notes.txt").status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: repo.gitDirectory).filter { $0.hasPrefix(".coffer-tmp-") }, [])
    }

    func testAForeignLockIsWaitedForThenReportedAndNeverRemoved() throws {
        let repo = try makeRepository()
        let path = repo.gitDirectory + "/index.lock"
        try Data("DIRC…a git writing its index".utf8).write(to: URL(fileURLWithPath: path))
        let start = Date()
        XCTAssertThrowsError(try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 0.2)) { error in
            XCTAssertEqual(error as? FileError, .busy(path: path, waitedSeconds: 1))
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.2)
        XCTAssertFalse(IndexLock.removeIfHeld(gitDirectory: repo.gitDirectory, token: token))
        XCTAssertEqual(contents(path), "DIRC…a git writing its index")

        // Released by its owner during the wait: taken.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { unlink(path) }
        let lock = try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 5)
        XCTAssertEqual(contents(path), token + "\n")
        lock.release()
    }

    func testALockHoldingTheSameTokenIsAdoptedAndOneReplacedByHandIsNotReleased() throws {
        let repo = try makeRepository()
        let path = repo.gitDirectory + "/index.lock"
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let adopted = try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 0)
        XCTAssertTrue(IndexLock.isHeld(gitDirectory: repo.gitDirectory, token: token))

        // Removed by hand and taken by a git: not ours any more.
        unlink(path)
        try Data("someone else".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertFalse(IndexLock.isHeld(gitDirectory: repo.gitDirectory, token: token))
        adopted.release()
        XCTAssertEqual(contents(path), "someone else")
    }

    /// The index is written under our lock and every entry coffer did not
    /// touch keeps its stat data byte for byte (no re-hash by git) — once
    /// its file is older than the index's second; a racily clean one is
    /// marked for git to compare (IndexSpliceTests).
    func testAnUpdateUnderTheLockKeepsOtherEntriesAndLeavesNothingBehind() throws {
        let repo = try makeRepository()
        try writeWorkTreeFile(repo, "notes.txt", Array("n".utf8))
        try writeWorkTreeFile(repo, "a.age", Array("a".utf8))
        usleep(1_100_000)
        try git(repo, "add", "notes.txt", "a.age")
        try git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "start")
        try git(repo, "status", "--porcelain")
        let before = try git(repo, "ls-files", "--debug", "notes.txt").output

        try writeWorkTreeFile(repo, "a.age", Array("a2".utf8))
        try writeWorkTreeFile(repo, "s/b.age", Array("b".utf8))
        let changes: [TreeChange] = [.write(path: "a.age", blob: try repo.writeBlob(Array("a2".utf8))),
                                     .write(path: "s/b.age", blob: try repo.writeBlob(Array("b".utf8)))]
        let parent = try repo.head()
        let commit = try repo.createCommit(parent: parent, changes: changes, message: "set", author: author)
        let lock = try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 0)
        try repo.advanceHead(from: parent, to: commit, message: "set")
        try repo.updateIndex(changes, holding: lock)
        XCTAssertEqual(contents(repo.gitDirectory + "/index.lock"), token + "\n", "still held until released")
        lock.release()

        XCTAssertEqual(try git(repo, "ls-files", "--debug", "notes.txt").output, before)
        XCTAssertEqual(try git(repo, "status", "--porcelain", "--untracked-files=all").output, "")
        XCTAssertEqual(try git(repo, "diff", "--cached", "--name-only").output, "")
        try git(repo, "fsck", "--full", "--no-progress")
        let left = try FileManager.default.contentsOfDirectory(atPath: repo.gitDirectory)
            .filter { $0.hasPrefix(".coffer-tmp-") || $0.hasSuffix(".lock") }
        XCTAssertEqual(left, [])
    }

    func testALostLockLeavesTheIndexAlone() throws {
        let repo = try makeRepository()
        try writeWorkTreeFile(repo, "a.age", Array("a".utf8))
        let blob = try repo.writeBlob(Array("a".utf8))
        let lock = try IndexLock(gitDirectory: repo.gitDirectory, token: token, timeout: 0)
        let path = repo.gitDirectory + "/index.lock"
        unlink(path)
        try Data("another git".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try repo.updateIndex([.write(path: "a.age", blob: blob)], holding: lock)) { error in
            XCTAssertEqual(error as? GitError, .indexLockLost(path: path))
        }
        XCTAssertEqual(try git(repo, "ls-files").output, "")
        XCTAssertEqual(contents(path), "another git")
    }
}
