#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import GitStore
import XCTest

/// The index coffer splices itself (GitStore's IndexFile) against stock
/// git: an index git wrote (with its cached trees), many entries, writes,
/// new directories and deletes; the versions and states it leaves to
/// libgit2; and a corrupt index, which must stay as it was.
final class IndexSpliceTests: GitTestCase {
    /// A repository whose index and HEAD stock git made: 40 directories of 8 files.
    private func gitMadeRepository() throws -> GitRepository {
        let repo = try makeRepository()
        for d in 0..<40 {
            for f in 0..<8 { try writeWorkTreeFile(repo, "s\(d)/k\(f).age", Array("value \(d) \(f)\n".utf8)) }
        }
        try git(repo, "add", "-A")
        try git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "stock")
        return repo
    }

    /// Writes `files` and deletes `removed` in the work tree, commits them
    /// on HEAD, and updates the index as coffer does.
    private func change(_ repo: GitRepository, write files: [String: String], delete removed: [String] = []) throws {
        var changes: [TreeChange] = []
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            try writeWorkTreeFile(repo, path, Array(text.utf8))
            changes.append(.write(path: path, blob: try repo.writeBlob(Array(text.utf8))))
        }
        for path in removed {
            XCTAssertEqual(unlink(repo.workTree + "/" + path), 0, path)
            changes.append(.delete(path: path))
        }
        let parent = try repo.head()
        let commit = try repo.createCommit(parent: parent, changes: changes, message: "change", author: author)
        try repo.advanceHead(from: parent, to: commit, message: "change")
        try updateIndex(repo, changes)
    }

    private func assertGitAgrees(_ repo: GitRepository, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try git(repo, "status", "--porcelain", "--untracked-files=all").output, "", file: file, line: line)
        XCTAssertEqual(try git(repo, "fsck", "--full", "--no-progress").output, "", file: file, line: line)
        // The index names exactly HEAD's tree.
        XCTAssertEqual(try git(repo, "write-tree").output, try git(repo, "rev-parse", "HEAD^{tree}").output, file: file, line: line)
        XCTAssertEqual(try git(repo, "diff-index", "--cached", "HEAD").output, "", file: file, line: line)
    }

    func testASplicedIndexIsOneStockGitAgreesWith() throws {
        let repo = try gitMadeRepository()
        try change(repo, write: ["s3/k1.age": "changed", "s39/k7.age": "last", "s0/k0.age": "first", "s3/new.age": "added",
                                 "a-new-dir/x.age": "new dir", "zz/deep/er.age": "deeper", "s1.age": "beside s1/"],
                   delete: ["s5/k5.age", "s20/k0.age"])
        try assertGitAgrees(repo)
        let listed = try git(repo, "ls-files").output.split(separator: "\n")
        XCTAssertEqual(listed.count, 320 + 4 - 2)
        XCTAssertEqual(listed, listed.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, "git's order")
        // And again over coffer's own splice, then git's own write over it.
        try change(repo, write: ["s3/k1.age": "again"], delete: ["a-new-dir/x.age"])
        try assertGitAgrees(repo)
        try writeWorkTreeFile(repo, "notes.txt", Array("n".utf8))
        try git(repo, "add", "notes.txt")
        XCTAssertEqual(try git(repo, "status", "--porcelain").output, "A  notes.txt\n")
    }

    func testTheNewEntryCarriesTheFilesStatDataAndAnotherGitsStagedChangeStays() throws {
        let repo = try gitMadeRepository()
        try writeWorkTreeFile(repo, "staged.txt", Array("s".utf8))
        try git(repo, "add", "staged.txt")
        try change(repo, write: ["s2/k2.age": "new value"])
        XCTAssertEqual(try git(repo, "status", "--porcelain").output, "A  staged.txt\n")
        var info = stat()
        XCTAssertEqual(lstat(repo.workTree + "/s2/k2.age", &info), 0)
        let debug = try git(repo, "ls-files", "--debug", "s2/k2.age").output
        XCTAssertTrue(debug.contains("mtime: \(info.st_mtim.tv_sec):\(info.st_mtim.tv_nsec)\n"), debug)
        XCTAssertTrue(debug.contains("ino: \(UInt32(truncatingIfNeeded: info.st_ino))\n"), debug)
        XCTAssertTrue(debug.contains("size: 9\t"), debug)
    }

    /// A file changed within the old index's timestamp (same size) is
    /// "racily clean": git checks it by content. Copied into a newer index
    /// unchanged it would look clean and its change would vanish from
    /// `git status`; it must stay visible.
    func testARacilyCleanEntryStaysVisibleAfterASplice() throws {
        let repo = try gitMadeRepository()
        // git compares seconds: add and edit F within one second, then
        // splice in a later one (at the start of a second, with room to spare).
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        usleep(UInt32((1_000_000_000 - now.tv_nsec) / 1000) + 20_000)
        try writeWorkTreeFile(repo, "F", Array("aaaa\n".utf8))
        try git(repo, "add", "F")
        try writeWorkTreeFile(repo, "F", Array("bbbb\n".utf8))
        var index = stat()
        XCTAssertEqual(lstat(repo.gitDirectory + "/index", &index), 0)
        var times = [index.st_mtim, index.st_mtim]
        XCTAssertEqual(utimensat(AT_FDCWD, repo.workTree + "/F", &times, 0), 0, "as if edited in the index's own second")
        usleep(1_100_000)
        try change(repo, write: ["s4/k4.age": "another"])
        XCTAssertEqual(try git(repo, "status", "--porcelain", "F").output, "AM F\n")
        XCTAssertEqual(try git(repo, "diff", "--name-only").output, "F\n")
    }

    func testIndexVersionsAreKeptAndVersionFourIsLeftToLibgit2() throws {
        for version in ["4", "3"] {
            let repo = try gitMadeRepository()
            try git(repo, "update-index", "--index-version", version)
            let before = try XCTUnwrap(FileManager.default.contents(atPath: repo.gitDirectory + "/index")).prefix(8)
            try change(repo, write: ["s7/k3.age": "v\(version)", "s8/new.age": "n"], delete: ["s9/k1.age"])
            try assertGitAgrees(repo)
            let header = try XCTUnwrap(FileManager.default.contents(atPath: repo.gitDirectory + "/index")).prefix(8)
            XCTAssertEqual(header, before, "the index keeps its version (git writes 3 as 2 when no entry needs 3)")
        }
    }

    func testAFileWhereADirectoryWillBeIsLeftToLibgit2() throws {
        let repo = try gitMadeRepository()
        try writeWorkTreeFile(repo, "clash", Array("file".utf8))
        try git(repo, "add", "clash")
        try git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "clash")
        XCTAssertEqual(unlink(repo.workTree + "/clash"), 0)
        try writeWorkTreeFile(repo, "clash/k.age", Array("under".utf8))
        let changes: [TreeChange] = [.delete(path: "clash"), .write(path: "clash/k.age", blob: try repo.writeBlob(Array("under".utf8)))]
        let parent = try repo.head()
        let commit = try repo.createCommit(parent: parent, changes: changes, message: "clash", author: author)
        try repo.advanceHead(from: parent, to: commit, message: "clash")
        try updateIndex(repo, changes)
        try assertGitAgrees(repo)
    }

    /// SHA-1 for git's formats: the standard's vectors, and a blob's name as git computes it.
    func testGitSHA1MatchesTheStandardAndGit() throws {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        XCTAssertEqual(hex([UInt8]().withUnsafeBytes { GitSHA1.digest($0) }), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(hex(Array("abc".utf8).withUnsafeBytes { GitSHA1.digest($0) }), "a9993e364706816aba3e25717850c26c9cd0d89d")
        let repo = try makeRepository()
        let content = Array("a value\n".utf8)
        let object = Array("blob \(content.count)\0".utf8) + content
        let hasher = GitSHA1()
        object.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<5])) }
        object.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[5...])) }
        try writeWorkTreeFile(repo, "v.txt", content)
        XCTAssertEqual(hex(hasher.finish()) + "\n", try git(repo, "hash-object", "v.txt").output)
    }

    func testACorruptIndexIsRefusedAndLeftAsItWas() throws {
        let repo = try gitMadeRepository()
        let path = repo.gitDirectory + "/index"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        bytes[100] ^= 0x01  // inside the first entries: the checksum no longer matches
        try bytes.write(to: URL(fileURLWithPath: path))
        try writeWorkTreeFile(repo, "s1/k1.age", Array("x".utf8))
        let blob = try repo.writeBlob(Array("x".utf8))
        XCTAssertThrowsError(try updateIndex(repo, [.write(path: "s1/k1.age", blob: blob)]))
        XCTAssertEqual(FileManager.default.contents(atPath: path), bytes, "the corrupt index is not replaced")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.gitDirectory + "/index.lock"))
    }

    /// The index coffer wrote is stamped (inode, size, times, checksum), so
    /// the next write need not hash it again; git's next index, or an
    /// in-place change to coffer's, no longer matches and is checked in full.
    func testTheIndexCofferWroteIsStampedAndAnyOtherIsCheckedInFull() throws {
        let repo = try gitMadeRepository()
        let path = repo.gitDirectory + "/index"
        func current() throws -> (stat, ArraySlice<UInt8>) {
            var info = stat()
            XCTAssertEqual(lstat(path, &info), 0)
            return (info, try XCTUnwrap(FileManager.default.contents(atPath: path)).suffix(20).map { $0 }[...])
        }
        var (info, checksum) = try current()
        XCTAssertFalse(IndexStamp.matches(gitDirectory: repo.gitDirectory, info: info, checksum: checksum), "git wrote this one")
        try change(repo, write: ["s3/k1.age": "changed"])
        (info, checksum) = try current()
        XCTAssertTrue(IndexStamp.matches(gitDirectory: repo.gitDirectory, info: info, checksum: checksum))
        try change(repo, write: ["s3/k2.age": "changed over coffer's own index"])
        try assertGitAgrees(repo)

        // git's write replaces the file: the stamp no longer matches.
        try writeWorkTreeFile(repo, "s4/k4.age", Array("by git".utf8))
        try git(repo, "add", "s4/k4.age")
        (info, checksum) = try current()
        XCTAssertFalse(IndexStamp.matches(gitDirectory: repo.gitDirectory, info: info, checksum: checksum))
        try git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "git")
        try change(repo, write: ["s4/k5.age": "coffer again"])
        try assertGitAgrees(repo)

        // Changed in place after coffer wrote it (a later ctime): checked, refused, left alone.
        usleep(20_000)
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var byte: UInt8 = 0
        XCTAssertEqual(pread(fd, &byte, 1, 100), 1)
        byte ^= 0x01
        XCTAssertEqual(pwrite(fd, &byte, 1, 100), 1)
        close(fd)
        let damaged = try XCTUnwrap(FileManager.default.contents(atPath: path))
        try writeWorkTreeFile(repo, "s1/k1.age", Array("x".utf8))
        let blob = try repo.writeBlob(Array("x".utf8))
        XCTAssertThrowsError(try updateIndex(repo, [.write(path: "s1/k1.age", blob: blob)]))
        XCTAssertEqual(FileManager.default.contents(atPath: path), damaged, "the damaged index is not replaced")
    }

    /// A path changed twice in one update ends as its last change says.
    func testTheLastChangeOfAPathWins() throws {
        let repo = try gitMadeRepository()
        try writeWorkTreeFile(repo, "s2/k2.age", Array("second".utf8))
        let first = try repo.writeBlob(Array("first".utf8)), second = try repo.writeBlob(Array("second".utf8))
        try updateIndex(repo, [.write(path: "s2/k2.age", blob: first), .delete(path: "s7/k7.age"), .write(path: "s2/k2.age", blob: second),
                               .write(path: "s7/k7.age", blob: first), .delete(path: "s7/k7.age")])
        XCTAssertEqual(try git(repo, "ls-files", "-s", "s2/k2.age").output.split(separator: " ")[1], Substring(second.hex))
        XCTAssertEqual(try git(repo, "ls-files", "s7/k7.age").output, "")
    }
}
