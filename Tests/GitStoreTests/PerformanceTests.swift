import CGit2
import Foundation
@testable import GitStore
import XCTest

/// Sanity checks for the 10,000-secret reference vault (SPEC §5): the
/// operations give the right results on a large tree. Timings are printed,
/// never asserted: the benchmarks own the targets.
final class PerformanceTests: GitTestCase {
    private func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Populating the vault fsyncs 10,000 loose objects (~1 ms each here);
    /// the suite skips that, then measures with fsync back on, as shipped.
    private func setFsync(_ on: Bool) throws {
        let lib = try LibGit2.load()
        try lib.check(lib.libgit2Opts(Int32(GIT_OPT_ENABLE_FSYNC_GITDIR.rawValue), on ? 1 : 0), "git_libgit2_opts")
    }

    func testSingleFileCommitOnATenThousandFileTree() throws {
        let repo = try makeRepository()
        try setFsync(false)
        defer { try? setFsync(true) }
        let paths = (0..<10_000).map { "scope\($0 % 20)/group\($0 % 7)/secret\($0).age" }
        var head: ObjectID?
        var changes: [TreeChange] = []
        let setup = try milliseconds {
            for batch in stride(from: 0, to: paths.count, by: 2_500) {
                var batchChanges: [TreeChange] = []
                for path in paths[batch..<batch + 2_500] {
                    let bytes = Array(path.utf8)
                    try writeWorkTreeFile(repo, path, bytes)
                    batchChanges.append(.write(path: path, blob: try repo.writeBlob(bytes)))
                }
                let commit = try repo.createCommit(parent: head, changes: batchChanges, message: "batch", author: author)
                try repo.advanceHead(from: head, to: commit, message: "batch")
                head = commit
                changes += batchChanges
            }
        }
        let fullIndex = try milliseconds { try updateIndex(repo, changes) }
        try setFsync(true)
        XCTAssertEqual(try repo.files(in: XCTUnwrap(head), under: "").count, 10_000)

        let path = "scope3/group3/new.age"
        let bytes = Array("new".utf8)
        try writeWorkTreeFile(repo, path, bytes)
        let blob = try repo.writeBlob(bytes)
        var commit: ObjectID?
        let single = try milliseconds {
            commit = try repo.createCommit(parent: head, changes: [.write(path: path, blob: blob)], message: "set one", author: author)
            try repo.advanceHead(from: head, to: commit!, message: "set one")
        }
        let warmIndex = try milliseconds { try updateIndex(repo, [.write(path: path, blob: blob)]) }
        let reopened = try GitRepository.open(at: repo.workTree)
        var coldIndex = 0.0
        var coldCommit = 0.0
        try writeWorkTreeFile(repo, "scope4/other.age", bytes)
        coldCommit = try milliseconds {
            let next = try reopened.createCommit(parent: commit, changes: [.write(path: "scope4/other.age", blob: blob)],
                                                 message: "set other", author: author)
            try reopened.advanceHead(from: commit, to: next, message: "set other")
        }
        coldIndex = try milliseconds { try updateIndex(reopened, [.write(path: "scope4/other.age", blob: blob)]) }
        let lookup = try milliseconds { XCTAssertEqual(try reopened.blob(at: path, in: XCTUnwrap(commit)), blob) }
        let listing = try milliseconds { XCTAssertEqual(try reopened.files(in: XCTUnwrap(commit), under: "").count, 10_001) }

        print(String(format: """
            GitStore perf (10,000 files): setup %.0f ms, updateIndex(10,000) %.1f ms; \
            single-file createCommit+advanceHead %.2f ms (fresh handle %.2f ms); \
            updateIndex(1) %.2f ms warm, %.2f ms fresh handle; blob(at:) %.2f ms; files(all) %.1f ms
            """, setup, fullIndex, single, coldCommit, warmIndex, coldIndex, lookup, listing))
        XCTAssertEqual(try git(repo, "status", "--porcelain").output, "")
        XCTAssertEqual(try git(repo, "rev-list", "--count", "HEAD").output, "6\n")
        try git(repo, "fsck", "--full")
    }
}
