import GitStore
import XCTest

final class CommitTests: GitTestCase {
    func testCreateOpensAsAFreshRepositoryOnGitsDefaultBranch() throws {
        let repo = try makeRepository("new/nested")
        XCTAssertEqual(repo.workTree, dir + "/new/nested")
        XCTAssertEqual(repo.gitDirectory, dir + "/new/nested/.git")
        XCTAssertNil(try repo.head())
        XCTAssertEqual(try repo.log(), [])
        XCTAssertEqual(try git(repo, "symbolic-ref", "HEAD").output, "refs/heads/\(try gitInitBranch())\n", "the branch `git init` makes")
        let reopened = try GitRepository.open(at: repo.workTree)
        XCTAssertEqual(reopened.gitDirectory, repo.gitDirectory)
        XCTAssertEqual(reopened.workTree, repo.workTree)
        XCTAssertThrowsError(try GitRepository.open(at: dir + "/new"))
    }

    func testBlobsRoundTripAndMatchGitsHash() throws {
        let repo = try makeRepository()
        let bytes: [UInt8] = Array("age-encryption.org/v1\n".utf8) + [0, 255, 10]
        let id = try repo.writeBlob(bytes)
        XCTAssertEqual(try repo.readBlob(id), bytes)
        XCTAssertEqual(try repo.readBlob(repo.writeBlob([])), [])
        XCTAssertEqual(try git(repo, "cat-file", "-t", id.hex).output, "blob\n")
        XCTAssertEqual(try git(repo, "cat-file", "-s", id.hex).output, "\(bytes.count)\n")
        XCTAssertThrowsError(try repo.readBlob(ObjectID(hex: String(repeating: "1", count: 40))!))
    }

    func testNestedCommitIsAnOrdinaryGitHistory() throws {
        let repo = try makeRepository()
        let c = try repo.writeBlob(Array("c".utf8)), d = try repo.writeBlob(Array("d".utf8)), e = try repo.writeBlob(Array("e".utf8))
        let first = try repo.createCommit(parent: nil, changes: [
            .write(path: "a/b/c.age", blob: c), .write(path: "a/d.age", blob: d), .write(path: "e.age", blob: e),
        ], message: "set three", author: author)
        XCTAssertNil(try repo.head(), "createCommit must not move HEAD")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.gitDirectory + "/index"), "nor touch the index")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: repo.workTree), [".git"], "nor the work tree")
        try repo.advanceHead(from: nil, to: first, message: "coffer: set three")
        XCTAssertEqual(try repo.head(), first)

        XCTAssertEqual(try lsTree(repo), ["a/b/c.age \(c)", "a/d.age \(d)", "e.age \(e)"])
        XCTAssertEqual(try git(repo, "log", "--format=%H|%an|%ae|%cn|%ce|%s").output,
                       "\(first)|Test Author|author@example.com|Test Author|author@example.com|set three\n")
        XCTAssertEqual(try git(repo, "cat-file", "-p", "HEAD:a/b/c.age").output, "c")
        XCTAssertEqual(try git(repo, "ls-tree", "HEAD", "e.age").output, "100644 blob \(e)\te.age\n")
        XCTAssertEqual(try git(repo, "reflog", "--format=%gs", try branch(repo)).output, "coffer: set three\n")
        XCTAssertEqual(try git(repo, "reflog", "--format=%H %gn <%ge> %gs", "HEAD").output,
                       "\(first) Test Author <author@example.com> coffer: set three\n", "HEAD's reflog too, as git writes it")
        try git(repo, "fsck", "--full", "--strict")

        let second = try repo.createCommit(parent: first, changes: [.write(path: "a/b/f.age", blob: e)],
                                           message: "set f", author: author)
        try repo.advanceHead(from: first, to: second, message: "coffer: set f")
        XCTAssertEqual(try git(repo, "rev-parse", "HEAD~1").output, "\(first)\n")
        XCTAssertEqual(try lsTree(repo), ["a/b/c.age \(c)", "a/b/f.age \(e)", "a/d.age \(d)", "e.age \(e)"])
        XCTAssertEqual(try git(repo, "diff", "--name-status", "HEAD~1", "HEAD").output, "A\ta/b/f.age\n")
        try git(repo, "fsck", "--full", "--strict")
    }

    func testDeletesDropEmptyDirectoriesAndIgnoreMissingPaths() throws {
        let repo = try makeRepository()
        let x = try repo.writeBlob(Array("x".utf8))
        let first = try repo.createCommit(parent: nil, changes: [
            .write(path: "a/b/c.age", blob: x), .write(path: "a/d.age", blob: x), .write(path: "e.age", blob: x),
        ], message: "one", author: author)
        let second = try repo.createCommit(parent: first, changes: [
            .delete(path: "a/b/c.age"), .delete(path: "missing.age"), .delete(path: "no/such/dir.age"),
        ], message: "two", author: author)
        // A path through a file, or a delete aimed at a directory, is a conflict, never a silent removal.
        for conflict: TreeChange in [.delete(path: "e.age/under-a-file"), .delete(path: "a"), .write(path: "e.age/x", blob: x), .write(path: "a", blob: x)] {
            XCTAssertThrowsError(try repo.createCommit(parent: first, changes: [conflict], message: "x", author: author)) {
                guard case GitError.pathConflict = $0 else { return XCTFail("\(conflict): \($0)") }
            }
        }
        try repo.advanceHead(from: nil, to: second, message: "two")
        XCTAssertEqual(try lsTree(repo), ["a/d.age \(x)", "e.age \(x)"])
        XCTAssertEqual(try git(repo, "ls-tree", "-d", "-r", "--name-only", "HEAD").output, "a\n")

        let third = try repo.createCommit(parent: second, changes: [.delete(path: "a/d.age"), .delete(path: "e.age")],
                                          message: "three", author: author)
        try repo.advanceHead(from: second, to: third, message: "three")
        XCTAssertEqual(try lsTree(repo), [])
        XCTAssertEqual(try git(repo, "rev-parse", "HEAD^{tree}").output, "4b825dc642cb6eb9a060e54bf8d69288fbee4904\n")
        try git(repo, "fsck", "--full", "--strict")
    }

    /// Emptying a directory must not write (and orphan) an empty tree object.
    func testEmptiedDirectoriesLeaveNoDanglingObjects() throws {
        let repo = try makeRepository()
        let x = try repo.writeBlob(Array("x".utf8))
        let first = try repo.createCommit(parent: nil, changes: [.write(path: "a/b/c.age", blob: x), .write(path: "d.age", blob: x)],
                                          message: "one", author: author)
        try repo.advanceHead(from: nil, to: first, message: "one")
        let second = try repo.createCommit(parent: first, changes: [.delete(path: "a/b/c.age")], message: "two", author: author)
        try repo.advanceHead(from: first, to: second, message: "two")
        let fsck = try git(repo, "fsck", "--full", "--strict")
        XCTAssertFalse(fsck.output.contains("dangling"), fsck.output)
    }

    func testChangesApplyInOrder() throws {
        let repo = try makeRepository()
        let one = try repo.writeBlob([1]), two = try repo.writeBlob([2])
        let commit = try repo.createCommit(parent: nil, changes: [
            .write(path: "s/k.age", blob: one), .write(path: "s/k.age", blob: two),
            .write(path: "gone/x.age", blob: one), .delete(path: "gone/x.age"),
            .delete(path: "back.age"), .write(path: "back.age", blob: one),
        ], message: "order", author: author)
        XCTAssertEqual(try repo.files(in: commit, under: ""),
                       [TreeEntry(path: "back.age", blob: one), TreeEntry(path: "s/k.age", blob: two)])
        let empty = try repo.createCommit(parent: commit, changes: [], message: "no-op", author: author)
        XCTAssertEqual(try repo.files(in: empty, under: ""), try repo.files(in: commit, under: ""))
    }

    func testInvalidPathsAreRejected() throws {
        let repo = try makeRepository()
        let blob = try repo.writeBlob([1])
        for path in ["", "a//b.age", "/abs.age", "dir/", ".git/config", "a/../b.age"] {
            XCTAssertThrowsError(try repo.createCommit(parent: nil, changes: [.write(path: path, blob: blob)],
                                                       message: "bad", author: author), path)
        }
    }

    func testCompareAndSwapRefusesAStaleExpectation() throws {
        let repo = try makeRepository()
        let blob = try repo.writeBlob([1])
        let base = try repo.createCommit(parent: nil, changes: [.write(path: "k.age", blob: blob)], message: "base", author: author)
        try repo.advanceHead(from: nil, to: base, message: "base")
        let mine = try repo.createCommit(parent: base, changes: [.delete(path: "k.age")], message: "mine", author: author)
        let other = try makeRepository("other")
        let otherCommit = try other.createCommit(parent: nil, changes: [], message: "other", author: author)
        XCTAssertThrowsError(try other.advanceHead(from: otherCommit, to: otherCommit, message: "unborn")) { error in
            XCTAssertTrue((error as? GitError)?.isStaleHead == true, "the branch does not exist yet: \(error)")
        }
        XCTAssertNil(try other.head())
        let theirs = try repo.createCommit(parent: base, changes: [], message: "theirs", author: author)
        try repo.advanceHead(from: base, to: theirs, message: "theirs")

        XCTAssertThrowsError(try repo.advanceHead(from: base, to: mine, message: "mine")) { error in
            guard let error = error as? GitError, case .staleHead(let ref) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(ref, "refs/heads/" + ((try? branch(repo)) ?? ""))
            XCTAssertNil(try? Data(contentsOf: URL(fileURLWithPath: repo.gitDirectory + "/" + ref + ".lock")), "the lock is released")
        }
        XCTAssertThrowsError(try repo.advanceHead(from: nil, to: mine, message: "mine")) { error in
            XCTAssertTrue((error as? GitError)?.isStaleHead == true, "\(error)")
        }
        XCTAssertEqual(try repo.head(), theirs)
        XCTAssertEqual(try git(repo, "rev-parse", try branch(repo)).output, "\(theirs)\n")
    }

    func testBlobAtPathAndFilesUnderPrefix() throws {
        let repo = try makeRepository()
        let ids = try (0..<6).map { try repo.writeBlob([UInt8($0)]) }
        let commit = try repo.createCommit(parent: nil, changes: [
            .write(path: "prod/db/password.age", blob: ids[0]), .write(path: "prod/db/user.age", blob: ids[1]),
            .write(path: "prod/api.age", blob: ids[2]), .write(path: "production.age", blob: ids[3]),
            .write(path: "dev/db/password.age", blob: ids[4]), .write(path: ".recipients", blob: ids[5]),
        ], message: "set", author: author)

        XCTAssertEqual(try repo.blob(at: "prod/db/password.age", in: commit), ids[0])
        XCTAssertEqual(try repo.blob(at: ".recipients", in: commit), ids[5])
        XCTAssertNil(try repo.blob(at: "prod/db", in: commit), "a directory is not a blob")
        XCTAssertNil(try repo.blob(at: "prod/missing.age", in: commit))
        XCTAssertNil(try repo.blob(at: "nowhere/x.age", in: commit))

        XCTAssertEqual(try repo.files(in: commit, under: "").map(\.path), [
            ".recipients", "dev/db/password.age", "prod/api.age", "prod/db/password.age", "prod/db/user.age", "production.age",
        ])
        XCTAssertEqual(try repo.files(in: commit, under: "prod/"), [
            TreeEntry(path: "prod/api.age", blob: ids[2]), TreeEntry(path: "prod/db/password.age", blob: ids[0]),
            TreeEntry(path: "prod/db/user.age", blob: ids[1]),
        ])
        XCTAssertEqual(try repo.files(in: commit, under: "prod").map(\.path),
                       ["prod/api.age", "prod/db/password.age", "prod/db/user.age", "production.age"])
        XCTAssertEqual(try repo.files(in: commit, under: "prod/db/p").map(\.path), ["prod/db/password.age"])
        XCTAssertEqual(try repo.files(in: commit, under: "nowhere/"), [])
        XCTAssertEqual(try repo.files(in: commit, under: "production.age/"), [])
    }

    func testLogFollowsFirstParentsNewestFirst() throws {
        let repo = try makeRepository()
        var parent: ObjectID?
        var ids: [ObjectID] = []
        // libgit2 stamps commits with time(), which reads the kernel's coarse
        // clock and can trail Date() by a tick across a second boundary.
        let before = Int64(Date().timeIntervalSince1970) - 1
        for n in 1...4 {
            let id = try repo.createCommit(parent: parent, changes: [.write(path: "n.age", blob: repo.writeBlob([UInt8(n)]))],
                                           message: "commit \(n)\n\nbody \(n)", author: author)
            try repo.advanceHead(from: parent, to: id, message: "commit \(n)")
            parent = id
            ids.append(id)
        }
        let after = Int64(Date().timeIntervalSince1970)
        let log = try repo.log()
        XCTAssertEqual(log.map(\.id), ids.reversed())
        XCTAssertEqual(log.first?.message, "commit 4\n\nbody 4")
        XCTAssertEqual(log.first?.parents, [ids[2]])
        XCTAssertEqual(log.last?.parents, [])
        XCTAssertEqual(log.first?.author, author)
        XCTAssertTrue(log.allSatisfy { (before...after).contains($0.time) }, "\(log.map(\.time))")
        XCTAssertEqual(try repo.log(limit: 2).map(\.id), [ids[3], ids[2]])
        XCTAssertEqual(try repo.log(from: ids[1]).map(\.id), [ids[1], ids[0]])
        XCTAssertEqual(try git(repo, "log", "--format=%B%x00").output.components(separatedBy: "\0\n").first,
                       "commit 4\n\nbody 4\n")
        XCTAssertEqual(try git(repo, "log", "--format=%at", "-1").output, "\(log[0].time)\n")
    }
}
