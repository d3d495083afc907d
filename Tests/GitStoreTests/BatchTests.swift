import Foundation
import GitStore
import XCTest

/// `withBatchedObjectSync`: large batches become one pack, small ones loose
/// objects; either way stock git reads the result.
final class BatchTests: GitTestCase {
    /// Printable, so `git cat-file` output compares as text; random, like
    /// sealed files, so the pack has nothing to delta-compress.
    private func content(_ n: Int) -> [UInt8] {
        let hex = (0..<48).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return Array("secret \(n) \(hex)\n".utf8)
    }

    /// Loose object ids, from the objects/xx/ directories.
    private func looseObjects(_ repo: GitRepository) throws -> [String] {
        let objects = repo.gitDirectory + "/objects"
        return try FileManager.default.contentsOfDirectory(atPath: objects)
            .filter { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
            .flatMap { fan in try FileManager.default.contentsOfDirectory(atPath: objects + "/" + fan).map { fan + $0 } }
    }

    private func packFiles(_ repo: GitRepository) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: repo.gitDirectory + "/objects/pack").sorted()
    }

    func testLargeBatchIsStoredAsOnePack() throws {
        let repo = try makeRepository()
        let contents = (0..<200).map(content)
        var blobs: [ObjectID] = []
        let commit = try repo.withBatchedObjectSync {
            blobs = try contents.map { try repo.writeBlob($0) }
            let changes = blobs.enumerated().map { TreeChange.write(path: "scope\($0.offset % 5)/k\($0.offset).age", blob: $0.element) }
            return try repo.createCommit(parent: nil, changes: changes, message: "many", author: author)
        }

        XCTAssertEqual(try looseObjects(repo), [], "a large batch writes no loose objects")
        let files = try packFiles(repo)
        XCTAssertEqual(files.count, 2, "\(files)")
        XCTAssertEqual(Set(files.map { ($0 as NSString).pathExtension }), ["idx", "pack"])
        // This handle and a fresh one (which can only have read the disk) find every object.
        let reopened = try GitRepository.open(at: repo.workTree)
        for (blob, bytes) in zip(blobs, contents) {
            XCTAssertEqual(try repo.readBlob(blob), bytes)
            XCTAssertEqual(try reopened.readBlob(blob), bytes)
        }
        XCTAssertEqual(try reopened.files(in: commit, under: "").count, 200)
        XCTAssertEqual(try reopened.log(from: commit).map(\.message), ["many"])

        try repo.advanceHead(from: nil, to: commit, message: "coffer: many")
        let counts = try git(repo, "count-objects", "-v").output
        XCTAssertTrue(counts.contains("count: 0\n"), counts)
        XCTAssertTrue(counts.contains("in-pack: 207\n"), counts)  // 200 blobs, 5 + 1 trees, 1 commit
        XCTAssertEqual(try git(repo, "cat-file", "-p", "HEAD:scope3/k8.age").output, String(decoding: contents[8], as: UTF8.self))
        try git(repo, "fsck", "--full", "--strict")
    }

    func testSmallBatchStaysLoose() throws {
        let repo = try makeRepository()
        let commit = try repo.withBatchedObjectSync {
            let changes = try (0..<3).map { TreeChange.write(path: "k\($0).age", blob: try repo.writeBlob(content($0))) }
            return try repo.createCommit(parent: nil, changes: changes, message: "few", author: author)
        }
        XCTAssertEqual(try looseObjects(repo).count, 5)  // 3 blobs, 1 tree, 1 commit
        XCTAssertEqual(try packFiles(repo), [])
        XCTAssertEqual(try GitRepository.open(at: repo.workTree).files(in: commit, under: "").count, 3)
        try repo.advanceHead(from: nil, to: commit, message: "coffer: few")
        try git(repo, "fsck", "--full", "--strict")
    }

    /// The in-memory store stays in the handle's object database after a
    /// batch; it must not keep what is written later.
    func testWritesAfterABatchGoToDisk() throws {
        let repo = try makeRepository()
        try repo.withBatchedObjectSync { _ = try (0..<100).map { try repo.writeBlob(content($0)) } }
        let bytes = content(1_000)
        let blob = try repo.writeBlob(bytes)
        XCTAssertEqual(try looseObjects(repo), [blob.hex])
        XCTAssertEqual(try GitRepository.open(at: repo.workTree).readBlob(blob), bytes)
    }

    func testFailedBatchLeavesNothingAndDoesNotHideLaterWrites() throws {
        struct Stop: Error {}
        let repo = try makeRepository()
        let contents = (0..<100).map(content)
        XCTAssertThrowsError(try repo.withBatchedObjectSync {
            _ = try contents.map { try repo.writeBlob($0) }
            throw Stop()
        }) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(try looseObjects(repo), [])
        XCTAssertEqual(try packFiles(repo), [])
        // Written again, the same object must reach the disk, not be taken as already stored.
        let blob = try repo.writeBlob(contents[0])
        XCTAssertEqual(try looseObjects(repo), [blob.hex])
    }

    func testNestedBatchJoinsTheOuterOne() throws {
        let repo = try makeRepository()
        var blobs: [ObjectID] = []
        try repo.withBatchedObjectSync {
            blobs = try (0..<40).map { try repo.writeBlob(content($0)) }
            blobs += try repo.withBatchedObjectSync { try (40..<80).map { try repo.writeBlob(content($0)) } }
            XCTAssertEqual(try looseObjects(repo), [], "the inner batch must not store its objects early")
        }
        XCTAssertEqual(try looseObjects(repo), [])
        XCTAssertEqual(try packFiles(repo).count, 2)
        let reopened = try GitRepository.open(at: repo.workTree)
        for blob in blobs { XCTAssertNoThrow(try reopened.readBlob(blob)) }
        let counts = try git(repo, "count-objects", "-v").output
        XCTAssertTrue(counts.contains("in-pack: 80\n"), counts)
    }
}
