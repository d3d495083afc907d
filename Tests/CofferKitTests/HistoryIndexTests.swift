import Foundation
import XCTest
import Age
import GitStore
import Posix
import SSHSig
@testable import CofferKit

/// The history index (CofferKit/HistoryIndex): after every kind of change
/// to the history — coffer's commits, stock git's, a pull and a merge, an
/// amend or a reset, a damaged file — the index brought up to HEAD holds
/// exactly what one built from scratch holds, and each id's steps are
/// exactly what a first-parent walk finds. The index is compared record by
/// record, not through `history`, which would hide a wrong index behind
/// its fallback to the walk.
final class HistoryIndexTests: VaultTestCase {
    private let signingKey = SSHSigningKey.generate()

    override func setUpWithError() throws {
        try super.setUpWithError()
        try useSignedVault(key: signingKey)
    }

    private var indexPath: String { vault.gitDirectory + "/" + HistoryIndex.fileName }

    private func head(_ target: Vault? = nil) throws -> ObjectID {
        try XCTUnwrap(try (target ?? vault).repo().head())
    }

    /// A step as text: id, commit, blob before, blob after.
    private func describe(_ step: VersionStep) -> String {
        "\(step.id.value) \(step.commit.id.hex) \(step.before?.hex ?? "-") \(step.after?.hex ?? "-")"
    }

    private func describe(_ step: HistoryIndex.Step) -> String {
        "\(step.id.value) \(step.commit.hex) \(step.before?.hex ?? "-") \(step.after?.hex ?? "-")"
    }

    /// The index's records with paths spelled out (numbering may differ
    /// between an extended index and a fresh one; the records may not).
    private func records(_ index: HistoryIndex) -> [String] {
        index.changes.map { "\($0.commit.id.hex) \(index.paths[$0.path]) \($0.blob?.id.hex ?? "-")" }
            + index.renames.map { "rename \($0.commit.id.hex) \(index.paths[$0.from]) \(index.paths[$0.to])" }
    }

    /// Brings the stored index up to HEAD as `history` does and checks it
    /// against one built from scratch and each id against a walk; then
    /// saves it, as `history` would. Returns the index brought up.
    @discardableResult
    private func assertIndexAgrees(_ ids: [String], in target: Vault? = nil, expectStored: Bool = true,
                                   file: StaticString = #filePath, line: UInt = #line) throws -> HistoryIndex {
        let vault = target ?? self.vault!
        let repo = try vault.repo(), head = try head(vault), walker = try PathWalker(repo)
        let stored = HistoryIndex.load(gitDirectory: vault.gitDirectory)
        if expectStored { XCTAssertNotNil(stored, "no usable index was stored", file: file, line: line) }
        let (updated, _) = try vault.bringUp(stored, to: head, walker: walker)
        let (fresh, _) = try vault.bringUp(nil, to: head, walker: walker)
        XCTAssertEqual(updated.head, head, file: file, line: line)
        XCTAssertEqual(records(updated), records(fresh), file: file, line: line)
        for text in ids {
            let walked = try vault.walkedVersionSteps(of: id(text)).map(describe)
            XCTAssertFalse(walked.isEmpty, text, file: file, line: line)
            XCTAssertEqual(try XCTUnwrap(updated.steps(of: id(text))).map(describe), walked, text, file: file, line: line)
            XCTAssertEqual(try XCTUnwrap(fresh.steps(of: id(text))).map(describe), walked, text, file: file, line: line)
            XCTAssertEqual(try XCTUnwrap(try vault.indexedVersionSteps(of: id(text))).steps.map(describe), walked, text,
                           file: file, line: line)
        }
        try updated.save(gitDirectory: vault.gitDirectory)
        return updated
    }

    /// The commits `git log --first-parent -- ID.age` lists (a linear
    /// history, no renames: there it is the same walk).
    private func gitLog(_ text: String) throws -> [String] {
        try git("log", "--first-parent", "--format=%H", "--", text + ".age").split(separator: "\n").map(String.init)
    }

    func testCofferCommitsExtendTheIndex() throws {
        try set(["a": "1", "b/c": "1"])
        try set(["a": "2"])
        try assertIndexAgrees(["a", "b/c"], expectStored: false)
        try set(["b/c": "2", "d": "1"])
        _ = try vault.remove([id("a")])
        _ = try vault.restore(id("a"), identities: [me])
        _ = try vault.rotate(identities: [me])
        try assertIndexAgrees(["a", "b/c", "d"])
        for text in ["a", "b/c", "d"] {
            XCTAssertEqual(try vault.walkedVersionSteps(of: id(text)).map(\.commit.id.hex), try gitLog(text), text)
        }
        // history answers from the index and leaves it at HEAD.
        let versions = try vault.history(of: id("a"))
        XCTAssertEqual(versions.map(\.change), [.rekey, .restored, .deleted, .value, .created])
        XCTAssertEqual(HistoryIndex.load(gitDirectory: vault.gitDirectory)?.head, try head())
    }

    func testStockGitCommitsAndGitMvAreIndexed() throws {
        try set(["a": "1", "b": "1"])
        _ = try vault.history(of: id("a"))
        try write("a.age", try Sealing.seal(bytes("2"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try commitByHand(["a.age"])
        try assertIndexAgrees(["a", "b"])
        try git("mv", "b.age", "moved.age")
        try git("commit", "-q", "-m", "moved by hand")
        try FileManager.default.createDirectory(atPath: path("dir"), withIntermediateDirectories: true)
        try git("mv", "a.age", "dir/a.age")
        try git("commit", "-q", "-m", "into a directory by hand")
        try assertIndexAgrees(["a", "b", "moved", "dir/a"])
        // No rename trailer: git mv is a removal and a creation.
        XCTAssertEqual(try vault.indexedVersionSteps(of: id("moved"))?.steps.count, 1)
        for text in ["a", "b", "moved", "dir/a"] {
            XCTAssertEqual(try vault.walkedVersionSteps(of: id(text)).map(\.commit.id.hex), try gitLog(text), text)
        }
    }

    func testCofferMvIsFollowedThroughTheIndex() throws {
        try set(["old": "1"])
        try set(["old": "2"])
        _ = try vault.apply(vault.planMove(id("old"), to: id("new"), me: nil), identities: [me])
        try set(["new": "3"])
        try assertIndexAgrees(["old", "new"], expectStored: false)
        // Back under the first name: the walk follows both renames.
        _ = try vault.apply(vault.planMove(id("new"), to: id("old"), me: nil), identities: [me])
        try set(["old": "4"])
        let index = try assertIndexAgrees(["old", "new"])
        XCTAssertEqual(index.steps(of: id("old"))?.map(\.id.value), ["old", "old", "new", "new", "old", "old"])
        XCTAssertEqual(try value("old", at: "v1"), "1")
        XCTAssertEqual(try value("old", at: "v4"), "3")
    }

    func testAPullAndAMergeAreIndexed() throws {
        try set(["app/a": "1", "app/b": "1"])
        try git("clone", "-q", root, directory + "/other", in: directory)
        let other = try Vault.open(containing: directory + "/other", configuration: VaultTestCase.configuration)
        other.commitSigner = CommitSigner(key: signingKey)
        try other.pin(try other.pinCandidate())
        _ = try vault.history(of: id("app/a"))
        // A fast-forward pull by stock git.
        try set(["app/b": "2", "app/c": "1"], in: other)
        try git("pull", "-q", "--ff-only", other.root, "HEAD", in: root)
        try assertIndexAgrees(["app/a", "app/b", "app/c"])
        // A merge of diverged clones by coffer: the merge commit brings
        // the other side's changes onto the first-parent chain.
        try set(["app/a": "2"])
        try set(["app/b": "3"], in: other)
        try set(["app/d": "1"], in: other)
        try git("fetch", "-q", other.root, "HEAD", in: root)
        let theirs = try XCTUnwrap(ObjectID(hex: try git("rev-parse", "FETCH_HEAD", in: root)))
        XCTAssertEqual(try vault.integrate(theirs, source: "other/main", identities: [me]).kind, .merged)
        try assertIndexAgrees(["app/a", "app/b", "app/c", "app/d"])
        // And the other clone, which never had an index, builds one.
        try git("pull", "-q", "--ff-only", root, "HEAD", in: other.root)
        try assertIndexAgrees(["app/a", "app/b", "app/c", "app/d"], in: other, expectStored: false)
    }

    func testAnAmendOrAResetCutsTheIndexBack() throws {
        for round in 1...5 { try set(["a": "\(round)", "b\(round)": "x"]) }
        _ = try vault.history(of: id("a"))
        let signed = try XCTUnwrap(HistoryIndex.load(gitDirectory: vault.gitDirectory)).signingKeys
        XCTAssertEqual(signed.count, 5, "history caches the signing key of every commit it shows")
        // Amend the newest commit by hand: another value for a, under the same parent.
        try write("a.age", try Sealing.seal(bytes("amended"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try git("add", "a.age")
        try git("commit", "-q", "--amend", "-m", "amended")
        let amended = try assertIndexAgrees(["a", "b1", "b5"])
        XCTAssertEqual(amended.signingKeys.count, 4, "the replaced commit's cached key is dropped, the others kept")
        try git("reset", "-q", "--hard", "HEAD~3")
        try assertIndexAgrees(["a", "b1", "b2"])
        try set(["a": "after", "b9": "x"])
        try assertIndexAgrees(["a", "b1", "b2", "b9"])
        XCTAssertEqual(try vault.history(of: id("a")).map(\.number), [3, 2, 1])
        XCTAssertEqual(try value("a", at: "v3"), "after")
    }

    func testADeletedTruncatedOrDamagedIndexIsRebuilt() throws {
        for round in 1...4 { try set(["a": "\(round)", "b": "\(round)"]) }
        let expected = try vault.history(of: id("a"))
        let good = try Files.read(path: indexPath)
        XCTAssertNotNil(HistoryIndex(decoding: good))
        let damaged: [(String, [UInt8]?)] = [
            ("deleted", nil),
            ("empty", []),
            ("truncated", Array(good.prefix(good.count / 2))),
            ("a byte flipped", good.enumerated().map { $0 == good.count / 2 ? $1 ^ 0x40 : $1 }),
            ("checksum flipped", good.enumerated().map { $0 == good.count - 1 ? $1 ^ 1 : $1 }),
            ("garbage appended", good + [0, 1, 2]),
        ]
        for (name, bytes) in damaged {
            try? FileManager.default.removeItem(atPath: indexPath)
            if let bytes { try Data(bytes).write(to: URL(fileURLWithPath: indexPath)) }
            if bytes != nil { XCTAssertNil(HistoryIndex.load(gitDirectory: vault.gitDirectory), name) }
            XCTAssertEqual(try vault.history(of: id("a")), expected, name)
            XCTAssertEqual(try Files.read(path: indexPath), good, "\(name): rebuilt as it was")
        }
    }

    /// A whole file (its checksum holds) whose records are wrong is caught
    /// by the checks against the trees, and rebuilt.
    func testAnIndexThatContradictsTheTreesIsRebuilt() throws {
        for round in 1...3 { try set(["a": "\(round)"]) }
        let expected = try vault.history(of: id("a"))
        var index = try XCTUnwrap(HistoryIndex.load(gitDirectory: vault.gitDirectory))
        let good = index
        // The newest change dropped: the index no longer matches HEAD.
        index.changes.removeLast()
        try index.save(gitDirectory: vault.gitDirectory)
        XCTAssertEqual(try vault.history(of: id("a")), expected)
        XCTAssertEqual(HistoryIndex.load(gitDirectory: vault.gitDirectory), good)
        // A blob swapped for another one: matches HEAD, not its commit.
        index = good
        let first = index.changes[0], second = index.changes[1]
        index.changes[0] = .init(commit: first.commit, path: first.path, blob: second.blob)
        index.changes[1] = .init(commit: second.commit, path: second.path, blob: first.blob)
        try index.save(gitDirectory: vault.gitDirectory)
        XCTAssertEqual(try vault.history(of: id("a")), expected)
        XCTAssertEqual(HistoryIndex.load(gitDirectory: vault.gitDirectory), good)
    }

    /// The cache holds signing keys, never marks: a checker with another
    /// trust marks the same cached commits by that trust.
    func testCachedSigningKeysAreMarkedByTheCurrentTrust() throws {
        try set(["a": "1"])
        try set(["a": "2"])
        XCTAssertEqual(try vault.history(of: id("a")).map(\.origin.signature.mark), [.verified, .verified])
        let index = try XCTUnwrap(HistoryIndex.load(gitDirectory: vault.gitDirectory))
        XCTAssertEqual(index.signingKeys.count, 2)
        XCTAssertTrue(index.signingKeys.values.allSatisfy { $0 == .key(signingKey.publicKey) })
        // Read from the cache, judged by this clone's trust now.
        XCTAssertEqual(try vault.history(of: id("a")).map(\.origin.signature.mark), [.verified, .verified])
        let unpinned = SignatureChecker(repo: try vault.repo(), trust: nil)
        let versions = try vault.history(of: id("a"), checker: unpinned)
        XCTAssertEqual(versions.map(\.origin.signature.mark), [.unknown, .unknown])
        XCTAssertEqual(versions.map(\.action), ["git", "git"])
    }
}
