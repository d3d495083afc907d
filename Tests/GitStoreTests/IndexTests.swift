#if canImport(Glibc)
import Glibc
#endif
import GitStore
import XCTest

final class IndexTests: GitTestCase {
    /// Writes `files` to the work tree and as blobs, commits them on HEAD and
    /// returns the changes.
    private func commitFiles(_ repo: GitRepository, _ files: [String: String]) throws -> [TreeChange] {
        var changes: [TreeChange] = []
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            try writeWorkTreeFile(repo, path, Array(text.utf8))
            changes.append(.write(path: path, blob: try repo.writeBlob(Array(text.utf8))))
        }
        let parent = try repo.head()
        let commit = try repo.createCommit(parent: parent, changes: changes, message: "set", author: author)
        try repo.advanceHead(from: parent, to: commit, message: "set")
        return changes
    }

    func testStatusIsCleanAfterUpdatingTheIndex() throws {
        let repo = try makeRepository()
        let changes = try commitFiles(repo, ["a/b/c.age": "c", "a/d.age": "d", "e.age": "e"])
        XCTAssertNotEqual(try git(repo, "status", "--porcelain").output, "", "nothing staged yet")
        try updateIndex(repo, changes)
        XCTAssertEqual(try git(repo, "status", "--porcelain", "--untracked-files=all").output, "")
        XCTAssertEqual(try git(repo, "ls-files", "-s").output.split(separator: "\n").map(String.init),
                       try lsTree(repo).map { line in
                           let parts = line.split(separator: " ")
                           return "100644 \(parts[1]) 0\t\(parts[0])"
                       })
    }

    func testEntriesCarryTheWorkTreeStatData() throws {
        let repo = try makeRepository()
        let changes = try commitFiles(repo, ["s/k.age": "value"])
        try updateIndex(repo, changes)
        var info = stat()
        XCTAssertEqual(lstat(repo.workTree + "/s/k.age", &info), 0)
        let debug = try git(repo, "ls-files", "--debug").output
        XCTAssertTrue(debug.contains("ctime: \(info.st_ctim.tv_sec):\(info.st_ctim.tv_nsec)\n"), debug)
        XCTAssertTrue(debug.contains("mtime: \(info.st_mtim.tv_sec):\(info.st_mtim.tv_nsec)\n"), debug)
        XCTAssertTrue(debug.contains("dev: \(UInt32(truncatingIfNeeded: info.st_dev))\tino: \(UInt32(truncatingIfNeeded: info.st_ino))\n"), debug)
        XCTAssertTrue(debug.contains("uid: \(info.st_uid)\tgid: \(info.st_gid)\n"), debug)
        XCTAssertTrue(debug.contains("size: 5\t"), debug)
    }

    func testDeletesRemoveEntriesAndLaterUpdatesKeepOthersChanges() throws {
        let repo = try makeRepository()
        try updateIndex(repo, try commitFiles(repo, ["a/b/c.age": "c", "e.age": "e"]))

        // Another process stages a file between our updates: we must not drop it.
        try writeWorkTreeFile(repo, "notes.txt", Array("n".utf8))
        try git(repo, "add", "notes.txt")

        XCTAssertEqual(unlink(repo.workTree + "/a/b/c.age"), 0)
        let parent = try repo.head()
        let commit = try repo.createCommit(parent: parent, changes: [.delete(path: "a/b/c.age")], message: "rm", author: author)
        try repo.advanceHead(from: parent, to: commit, message: "rm")
        try updateIndex(repo, [.delete(path: "a/b/c.age"), .delete(path: "never/there.age")])
        XCTAssertEqual(try git(repo, "status", "--porcelain").output, "A  notes.txt\n")
        XCTAssertEqual(try git(repo, "ls-files").output, "e.age\nnotes.txt\n")
    }

    func testAMissingWorkTreeFileIsAnError() throws {
        let repo = try makeRepository()
        let blob = try repo.writeBlob([1])
        XCTAssertThrowsError(try updateIndex(repo, [.write(path: "absent.age", blob: blob)])) { error in
            guard case GitError.call(let function, let code, let message)? = error as? GitError else { return XCTFail("\(error)") }
            XCTAssertEqual(function, "lstat")
            XCTAssertEqual(code, ENOENT)
            XCTAssertTrue(message.hasPrefix("absent.age"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.gitDirectory + "/index.lock"))
    }
}
