import Foundation
import XCTest
import Age
@testable import CofferKit

/// differences between revisions (Operations/Diff.swift).
final class DiffTests: VaultTestCase {
    private func kinds(_ diffs: [SecretDifference]) -> [String: SecretDifference.Kind] {
        Dictionary(uniqueKeysWithValues: diffs.map { ($0.id.value, $0.kind) })
    }

    func testRotateIsReencryptedWithTheSameValue() throws {
        try set(["a": "1", "b": "2"])
        _ = try vault.rotate(identities: [me])
        let diffs = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [me])
        XCTAssertEqual(diffs.map(\.id), [id("a"), id("b")])
        XCTAssertEqual(diffs.map(\.kind), [.reencrypted, .reencrypted])
        XCTAssertEqual(diffs.map(\.sameValue), [true, true])
        XCTAssertTrue(diffs.allSatisfy { $0.old == nil && $0.new == nil })
        let blind = try vault.differences(from: "HEAD~1", to: "HEAD")
        XCTAssertEqual(blind.map(\.kind), [.reencrypted, .reencrypted])
        XCTAssertEqual(blind.map(\.sameValue), [nil, nil])
        // Someone else's key cannot compare either.
        let stranger = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [X25519Identity.generate()])
        XCTAssertEqual(stranger.map(\.sameValue), [nil, nil])
    }

    func testNewValueIsChanged() throws {
        try set(["a": "1", "b": "2"])
        try set(["a": "changed"])
        let diffs = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [me])
        XCTAssertEqual(diffs.map(\.id), [id("a")])
        XCTAssertEqual(diffs.first?.kind, .changed)
        XCTAssertEqual(diffs.first?.sameValue, false)
        // Without a key a new value cannot be told from a re-encryption.
        XCTAssertEqual(try vault.differences(from: "HEAD~1", to: "HEAD").first?.kind, .reencrypted)
    }

    func testAddedAndRemoved() throws {
        try set(["a": "1"])
        try set(["b": "2"])
        _ = try vault.remove([id("a")])
        XCTAssertEqual(kinds(try vault.differences(from: "HEAD~2", to: "HEAD", identities: [me])),
                       ["a": .removed, "b": .added])
        XCTAssertEqual(kinds(try vault.differences(from: "HEAD~1", to: "HEAD")), ["a": .removed])
    }

    func testAddingAReaderIsRewrapped() throws {
        try set(["a": "1"])
        var plan = try vault.planAddReader(named(X25519Identity.generate(), "other"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        let diffs = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [me])
        XCTAssertEqual(diffs.map(\.kind), [.rewrapped])
        XCTAssertEqual(diffs.map(\.sameValue), [nil])
    }

    func testRevealReturnsValues() throws {
        try set(["a": "old"])
        try set(["a": "new", "b": "born"])
        let diffs = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [me], reveal: true)
        XCTAssertEqual(diffs.map(\.id), [id("a"), id("b")])
        XCTAssertEqual(diffs[0].old.map(string), "old")
        XCTAssertEqual(diffs[0].new.map(string), "new")
        XCTAssertNil(diffs[1].old)
        XCTAssertEqual(diffs[1].new.map(string), "born")
        // Not asked to reveal: no values.
        let quiet = try vault.differences(from: "HEAD~1", to: "HEAD", identities: [me])
        XCTAssertTrue(quiet.allSatisfy { $0.old == nil && $0.new == nil })
    }

    func testWorkTreeAgainstHead() throws {
        try set(["a": "1", "b": "2"])
        XCTAssertEqual(try vault.differences(from: nil, to: nil, identities: [me]).count, 0)
        try write("a.age", try Sealing.seal(bytes("edited"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try FileManager.default.removeItem(atPath: path("b.age"))
        XCTAssertEqual(kinds(try vault.differences(from: nil, to: nil, identities: [me])), ["a": .changed, "b": .removed])
        XCTAssertEqual(kinds(try vault.differences(from: "HEAD", to: nil, identities: [me])), ["a": .changed, "b": .removed])
    }

    func testBadRevision() throws {
        try set(["a": "1"])
        assertThrows(.noSuchVaultRevision(revision: "nope")) { try vault.differences(from: "nope", to: "HEAD") }
        assertThrows(.noSuchVaultRevision(revision: "HEAD~9")) { try vault.differences(from: "HEAD", to: "HEAD~9") }
    }

    /// Each difference names the commit that made its new side (the newest
    /// that changed the file, not the revision asked for, and the one that
    /// removed a file); a change still only in the work tree names none.
    func testEachDifferenceNamesTheCommitThatMadeIt() throws {
        try set(["a": "1", "b": "1"])
        try set(["a": "2"])
        try set(["c": "3"])
        let commits = try git("rev-list", "HEAD").split(separator: "\n").map(String.init)
        let diffs = try vault.differences(from: "HEAD~2", to: "HEAD")
        XCTAssertEqual(diffs.map(\.id), [id("a"), id("c")])
        XCTAssertEqual(diffs.map(\.origin?.commit), [commits[1], commits[0]])
        XCTAssertEqual(diffs.map(\.origin?.claimedAction), ["set", "set"])
        XCTAssertEqual(diffs.map(\.origin?.signature.mark), [.unsigned, .unsigned], "this vault signs nothing")

        _ = try vault.remove([id("b")])
        let removal = try git("rev-parse", "HEAD")
        try write("a.age", try Sealing.seal(bytes("edited"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        let origins = Dictionary(uniqueKeysWithValues: try vault.differences(from: "HEAD~3", to: nil).map { ($0.id.value, $0.origin?.commit) })
        let expected: [String: String?] = ["a": nil, "b": removal, "c": commits[0]]
        XCTAssertEqual(origins, expected)
        XCTAssertEqual(try vault.differences(from: nil, to: nil).map(\.origin), [nil], "against HEAD all is in the work tree")
        // Reversed, each names the commit that made the older side.
        let back = try vault.differences(from: "HEAD", to: "HEAD~3")
        XCTAssertEqual(back.map(\.id), [id("a"), id("b"), id("c")])
        XCTAssertEqual(back.map(\.origin?.commit), [commits[2], commits[2], nil])
    }
}
