import XCTest
@testable import GitStore

/// `GitRepository.mergeTrees`: libgit2's merge with an in-process driver.
final class MergeTreesTests: GitTestCase {
    /// A base commit with `a.age`, then two children that both change it.
    private func fork(_ repo: GitRepository, ours: [UInt8], theirs: [UInt8]) throws -> (ObjectID, ObjectID) {
        let base = try repo.createCommit(parent: nil, changes: [.write(path: "a.age", blob: try repo.writeBlob(Array("base".utf8)))],
                                         message: "base", author: author)
        let o = try repo.createCommit(parent: base, changes: [.write(path: "a.age", blob: try repo.writeBlob(ours))], message: "ours", author: author)
        let t = try repo.createCommit(parent: base, changes: [.write(path: "a.age", blob: try repo.writeBlob(theirs))],
                                      message: "theirs", author: author)
        return (o, t)
    }

    /// The blob at `path` in a merged tree (committed to be read back).
    private func blob(_ repo: GitRepository, _ merged: TreeMerge, parents: [ObjectID], at path: String) throws -> [UInt8] {
        let commit = try repo.createMergeCommit(parents: parents, tree: merged.tree, changes: [], message: "m", author: author)
        return try repo.readBlob(try XCTUnwrap(try repo.files(in: commit, under: "").first { $0.path == path }?.blob))
    }

    private func attributes(_ repo: GitRepository) throws {
        try FileManager.default.createDirectory(atPath: repo.gitDirectory + "/info", withIntermediateDirectories: true)
        try "*.age merge=\(GitRepository.mergeDriverName)\n".write(toFile: repo.gitDirectory + "/info/attributes", atomically: true, encoding: .utf8)
    }

    func testTheDriverDecidesAndItsBytesAreTheMergedFile() throws {
        let repo = try makeRepository()
        try attributes(repo)
        let (ours, theirs) = try fork(repo, ours: Array("ours".utf8), theirs: Array("theirs".utf8))
        var seen: [MergeInput] = []
        let merged = try repo.mergeTrees(ours: ours, theirs: theirs, maxFileSize: 1 << 20) { input in
            seen.append(input)
            return Array("decided".utf8)
        }
        XCTAssertEqual(merged.conflicts, [])
        XCTAssertEqual(seen.map(\.path), ["a.age"])
        XCTAssertEqual(seen.first?.base, Array("base".utf8))
        XCTAssertEqual(try blob(repo, merged, parents: [ours, theirs], at: "a.age"), Array("decided".utf8))
    }

    func testADriverConflictKeepsOursInTheTree() throws {
        let repo = try makeRepository()
        try attributes(repo)
        let (ours, theirs) = try fork(repo, ours: Array("ours".utf8), theirs: Array("theirs".utf8))
        let merged = try repo.mergeTrees(ours: ours, theirs: theirs, maxFileSize: 1 << 20) { _ in nil }
        XCTAssertEqual(merged.conflicts.map(\.path), ["a.age"])
        XCTAssertEqual(try blob(repo, merged, parents: [ours, theirs], at: "a.age"), Array("ours".utf8))
    }

    /// A side bigger than the limit is a conflict; the driver never sees it.
    func testAFileOverTheLimitIsAConflictNeverRead() throws {
        let repo = try makeRepository()
        try attributes(repo)
        let (ours, theirs) = try fork(repo, ours: Array("ours".utf8), theirs: Array(repeating: 0x41, count: 64))
        var called = false
        let merged = try repo.mergeTrees(ours: ours, theirs: theirs, maxFileSize: 16) { _ in
            called = true
            return Array("decided".utf8)
        }
        XCTAssertFalse(called)
        XCTAssertEqual(merged.conflicts.map(\.path), ["a.age"])
    }
}
