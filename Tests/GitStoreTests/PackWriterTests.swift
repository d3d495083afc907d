import Foundation
@testable import GitStore
import XCTest

/// coffer's own pack writer (SHA-1 from libcrypto, deflate from zlib),
/// pack consolidation and the sweep of crashed writes' leftovers, each
/// checked by the stock git CLI: `git hash-object`, `git verify-pack`,
/// `git fsck --full`.
final class PackWriterTests: GitTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    private var packDirectory: (GitRepository) -> String { { $0.gitDirectory + "/objects/pack" } }

    private func packs(_ repo: GitRepository) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: packDirectory(repo)).filter { $0.hasSuffix(".idx") }.sorted()
    }

    /// Commits `count` new random blobs (sizes vary, some past 16 KiB so
    /// pack sizes take several bytes) on HEAD in one batch, so one pack.
    @discardableResult
    private func commitBatch(_ repo: GitRepository, _ tag: Int, count: Int = 80) throws -> [(ObjectID, [UInt8])] {
        let contents = (0..<count).map { random([0, 1, 15, 16, 127, 128, 300, 20_000][$0 % 8] + $0) }
        let head = try repo.head()
        var blobs: [(ObjectID, [UInt8])] = []
        let commit = try repo.withBatchedObjectSync {
            blobs = try contents.map { (try repo.writeBlob($0), $0) }
            let changes = blobs.enumerated().map { TreeChange.write(path: "b\(tag)/s\($0.offset % 4)/k\($0.offset).age", blob: $0.element.0) }
            return try repo.createCommit(parent: head, changes: changes, message: "batch \(tag)", author: author)
        }
        try repo.advanceHead(from: head, to: commit, message: "batch \(tag)")
        return blobs
    }

    private func verifyPacks(_ repo: GitRepository) throws {
        for index in try packs(repo) {
            let result = try git(repo, "verify-pack", "-v", packDirectory(repo) + "/" + index)
            XCTAssertTrue(result.output.contains(": ok\n"), result.output.suffix(200).description)
        }
        try git(repo, "fsck", "--full", "--strict")
    }

    func testSHA1MatchesKnownDigests() throws {
        func digest(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { GitSHA1.digest($0) } }
        XCTAssertEqual(hex(digest([])), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(hex(digest(Array("abc".utf8))), "a9993e364706816aba3e25717850c26c9cd0d89d")
        let bytes = random(100_000)
        let sha = GitSHA1()
        bytes.withUnsafeBytes { all in
            sha.update(UnsafeRawBufferPointer(rebasing: all[0..<7]))
            sha.update(UnsafeRawBufferPointer(rebasing: all[7...]))
        }
        XCTAssertEqual(sha.finish(), digest(bytes))
    }

    func testBlobIDsMatchGitHashObject() throws {
        let repo = try makeRepository()
        for size in [0, 1, 15, 16, 127, 128, 2_000, 70_000] {
            let bytes = random(size)
            let path = dir + "/object-\(size)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let expected = try git(repo, "hash-object", path).output.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(bytes.withUnsafeBytes { PackWriter.id(of: .blob, $0) }.hex, expected, "size \(size)")
            XCTAssertEqual(try repo.writeBlob(bytes).hex, expected)
        }
    }

    func testBatchPacksPassVerifyPackAndFsck() throws {
        let repo = try makeRepository()
        let blobs = try commitBatch(repo, 0, count: 300)
        XCTAssertEqual(try packs(repo).count, 1)
        try verifyPacks(repo)
        let reopened = try GitRepository.open(at: repo.workTree)
        for (id, bytes) in blobs { XCTAssertEqual(try reopened.readBlob(id), bytes) }
        XCTAssertEqual(try git(repo, "cat-file", "-s", "HEAD:b0/s1/k5.age").output, "\(blobs[5].1.count)\n")
        XCTAssertEqual(try git(repo, "rev-parse", "HEAD:b0/s1/k5.age").output, blobs[5].0.hex + "\n")
    }

    /// Past the threshold a batch's blobs stream into the pack being
    /// written; inside the batch they read back as before (libgit2 asks
    /// for them when it builds a tree, and a blob written twice is stored once).
    func testStreamedBlobsAreReadableDuringTheBatch() throws {
        let repo = try makeRepository()
        let contents = (0..<200).map { random(100 + $0) }
        let commit = try repo.withBatchedObjectSync {
            let blobs = try contents.map { try repo.writeBlob($0) }
            for index in [0, 63, 64, 150, 199] { XCTAssertEqual(try repo.readBlob(blobs[index]), contents[index]) }
            XCTAssertEqual(try repo.writeBlob(contents[150]), blobs[150])
            let changes = blobs.enumerated().map { TreeChange.write(path: "k\($0.offset).age", blob: $0.element) }
            return try repo.createCommit(parent: nil, changes: changes, message: "streamed", author: author)
        }
        try repo.advanceHead(from: nil, to: commit, message: "streamed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.gitDirectory + "/coffer-incoming"))
        let counts = try git(repo, "count-objects", "-v").output
        XCTAssertTrue(counts.contains("in-pack: 202\n"), counts)  // 200 blobs, 1 tree, 1 commit
        try verifyPacks(repo)
    }

    /// A write killed at each step of storing a pack: the repository stays
    /// valid (fsck), the commit before it intact, and the next sweep leaves
    /// no temporary file behind.
    func testInterruptedPackWritesLeaveTheRepositoryValid() throws {
        let repo = try makeRepository()
        try commitBatch(repo, 0)
        let incoming = repo.gitDirectory + "/coffer-incoming"
        let objects = (0..<3).map { _ in random(500) }

        // 1. Killed while appending objects: a partial pack in coffer-incoming.
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        do {
            let writer = try PackWriter(directory: incoming)
            for bytes in objects { try bytes.withUnsafeBytes { _ = try writer.add(.blob, $0) } }
            // Keep the half-written file as a kill would (the writer's deinit removes it).
            try FileManager.default.copyItem(atPath: incoming + "/pack-new.pack", toPath: incoming + "/pack-half.pack")
        }
        try git(repo, "fsck", "--full")
        // 2. Finished (pack and index flushed) but not yet moved into place.
        let writer = try PackWriter(directory: incoming)
        for bytes in objects { try bytes.withUnsafeBytes { _ = try writer.add(.blob, $0) } }
        let finished = try writer.finish()
        try git(repo, "fsck", "--full")
        // 3. The pack moved, the index not: no reader sees the pack.
        try FileManager.default.moveItem(atPath: finished.packPath, toPath: packDirectory(repo) + "/" + finished.name + ".pack")
        try git(repo, "fsck", "--full")
        XCTAssertEqual(try packs(repo).count, 1)

        // The sweep (run by recovery before every write) clears coffer-incoming
        // at once, and the index-less pack once it is old enough to be no one's.
        XCTAssertEqual(GitRepository.removeStalePackFiles(gitDirectory: repo.gitDirectory), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: incoming))
        XCTAssertTrue(FileManager.default.fileExists(atPath: packDirectory(repo) + "/" + finished.name + ".pack"))
        let later = Int(Date().timeIntervalSince1970) + GitRepository.staleTemporaryAge + 1
        XCTAssertEqual(GitRepository.removeStalePackFiles(gitDirectory: repo.gitDirectory, now: later), [finished.name + ".pack"])
        try verifyPacks(repo)
        // 4. Installed whole: the objects are there.
        let again = try PackWriter(directory: repo.gitDirectory)
        for bytes in objects { try bytes.withUnsafeBytes { _ = try again.add(.blob, $0) } }
        try repo.install(again.finish())
        try verifyPacks(repo)
        for bytes in objects {
            let id = bytes.withUnsafeBytes { PackWriter.id(of: .blob, $0) }
            XCTAssertEqual(try git(repo, "cat-file", "-t", id.hex).output, "blob\n")
        }
    }

    func testLibgit2TemporariesAreRemovedOnlyWhenStale() throws {
        let repo = try makeRepository()
        try commitBatch(repo, 0)
        let directory = packDirectory(repo)
        for name in ["pack_git2_old", "pack_git2_new"] {
            _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(random(100)))
        }
        let old = Date().addingTimeInterval(-Double(GitRepository.staleTemporaryAge) - 60)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory + "/pack_git2_old")
        XCTAssertEqual(GitRepository.removeStalePackFiles(gitDirectory: repo.gitDirectory), ["pack_git2_old"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/pack_git2_new"), "a live write's file stays")
        try git(repo, "fsck", "--full")
    }

    /// Past `packLimit` packs, the batch that stores one merges them all:
    /// every object stays readable, by libgit2 and by git.
    func testManyPacksAreConsolidatedKeepingEveryObject() throws {
        let repo = try makeRepository()
        var blobs: [(ObjectID, [UInt8])] = []
        for tag in 0..<GitRepository.packLimit { blobs += try commitBatch(repo, tag) }
        XCTAssertEqual(try packs(repo).count, GitRepository.packLimit)
        let before = try git(repo, "count-objects", "-v").output
        blobs += try commitBatch(repo, GitRepository.packLimit)
        XCTAssertEqual(try packs(repo).count, 1, "consolidated at the end of the batch past the limit")
        try verifyPacks(repo)
        let reopened = try GitRepository.open(at: repo.workTree)
        for (id, bytes) in blobs {
            XCTAssertEqual(try repo.readBlob(id), bytes)
            XCTAssertEqual(try reopened.readBlob(id), bytes)
        }
        let objects = Int(try git(repo, "rev-list", "--objects", "--all").output.split(separator: "\n").count)
        let counts = try git(repo, "count-objects", "-v").output
        XCTAssertTrue(counts.contains("in-pack: \(objects)\n"), "\(before) -> \(counts), \(objects) reachable")
        XCTAssertTrue(counts.contains("count: 0\n"), counts)
        // Below the limit nothing happens.
        XCTAssertEqual(try repo.consolidatePacks(), 0)
    }

    /// Packs git keeps apart are left alone.
    func testKeptPacksAreNotConsolidated() throws {
        let repo = try makeRepository()
        for tag in 0..<3 { try commitBatch(repo, tag) }
        let kept = try packs(repo)[0].dropLast(4)
        _ = FileManager.default.createFile(atPath: packDirectory(repo) + "/" + kept + ".keep", contents: Data())
        XCTAssertEqual(try repo.consolidatePacks(whenMoreThan: 1), 2)
        let left = try packs(repo)
        XCTAssertEqual(left.count, 2)
        XCTAssertTrue(left.contains(kept + ".idx"))
        try verifyPacks(repo)
    }
}
