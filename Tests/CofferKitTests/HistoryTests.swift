import Foundation
import XCTest
import Age
@testable import CofferKit

/// history and log (Operations/History.swift), in a vault that signs its
/// commits with a key it trusts, so coffer's own commits show their actions.
final class HistoryTests: VaultTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try useSignedVault()
    }

    func testEveryKindOfChangeIsNamed() throws {
        let other = X25519Identity.generate()
        try set(["a": "one"])                                            // v1 created
        try set(["a": "two"])                                            // v2 value
        _ = try vault.rotate(identities: [me])                           // v3 rekey
        _ = try vault.rollback(id("a"), to: "v1", identities: [me])          // v4 restored
        var plan = try vault.planAddReader(named(other, "other"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])                          // v5 wrapping
        _ = try vault.remove([id("a")])                                      // v6 deleted
        _ = try vault.restore(id("a"), identities: [me])                     // v7 restored

        let versions = try vault.history(of: id("a"))
        XCTAssertEqual(versions.map(\.number), [7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(versions.map(\.change), [.restored, .deleted, .wrapping, .restored, .rekey, .value, .created])
        XCTAssertEqual(versions.map(\.action), ["restore", "rm", "rewrap", "rollback", "rotate", "set", "set"])
        XCTAssertEqual(Set(versions.map(\.id)), [id("a")])
        // The author is git's configured one (or the configuration's name when git names none).
        XCTAssertEqual(versions.map(\.author), try git("log", "-7", "--format=%an").split(separator: "\n").map(String.init))
        let commits = try git("rev-list", "HEAD").split(separator: "\n").map(String.init)
        XCTAssertEqual(versions.map(\.commit), Array(commits.prefix(7)))

        XCTAssertEqual(try value("a", at: "v1"), "one")
        XCTAssertEqual(try value("a", at: "v3"), "two")
        XCTAssertEqual(try value("a", at: "v5", identities: [other]), "one")
        assertThrows(.deletedAt(id: "a", revision: "v6")) { try vault.read(id("a"), at: "v6", identities: [me]) }
        XCTAssertEqual(try value("a"), "one")
    }

    func testRemovingAReaderIsARekey() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try set(["a": "1"])
        let plan = try vault.planRemoveReader(.name("other"), from: nil, me: mine)
        _ = try vault.apply(plan, identities: [me])
        XCTAssertEqual(try vault.history(of: id("a")).map(\.change), [.rekey, .created])
        XCTAssertEqual(try vault.history(of: id("a")).first?.action, "rekey")
    }

    func testACommitCofferDidNotMakeIsGit() throws {
        try set(["a": "1"])
        try write("a.age", try Sealing.seal(bytes("2"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try commitByHand(["a.age"])
        let versions = try vault.history(of: id("a"))
        XCTAssertEqual(versions.map(\.action), ["git", "set"])
        XCTAssertEqual(versions.map(\.change), [.value, .created])
        XCTAssertEqual(versions.first?.author, "peer")
    }

    func testRenamesAreFollowed() throws {
        try set(["old/name": "1"])
        try set(["old/name": "2"])
        _ = try vault.apply(vault.planMove(id("old/name"), to: id("new/name"), me: nil), identities: [me])
        try set(["new/name": "3"])
        let versions = try vault.history(of: id("new/name"))
        XCTAssertEqual(versions.map(\.number), [4, 3, 2, 1])
        XCTAssertEqual(versions.map(\.id), [id("new/name"), id("new/name"), id("old/name"), id("old/name")])
        XCTAssertEqual(versions.map(\.action), ["set", "mv", "set", "set"])
        XCTAssertEqual(try value("new/name", at: "v1"), "1")
        XCTAssertEqual(try value("new/name", at: "v2"), "2")
        // A git revision before the rename finds the value under the old id.
        XCTAssertEqual(try value("new/name", at: "HEAD~2"), "2")
        XCTAssertEqual(try value("new/name", at: "HEAD~3"), "1")
        // The old id's own history ends with its removal.
        XCTAssertEqual(try vault.history(of: id("old/name")).map(\.change), [.deleted, .value, .created])
    }

    func testNeverExistedHasNoHistory() throws {
        try set(["a": "1"])
        XCTAssertEqual(try vault.history(of: id("b")), [])
        assertThrows(.noSuchRevision(id: "b", revision: "v1")) { try vault.read(id("b"), at: "v1", identities: [me]) }
    }

    func testLogFiltersByPrefix() throws {
        try set(["prod/db": "1"])
        try set(["production": "2"])
        try set(["dev/db": "3", "prod/api": "4"])
        _ = try vault.remove([id("prod/db")])
        let all = try vault.log()
        XCTAssertEqual(all.map(\.action), ["rm", "set", "set", "set", "init"])
        XCTAssertEqual(all[2].ids, ["production"])
        let prod = try vault.log(try Prefix("prod"))
        XCTAssertEqual(prod.map(\.action), ["rm", "set", "set"])
        XCTAssertEqual(prod.map(\.ids), [["prod/db"], ["prod/api"], ["prod/db"]])
        XCTAssertEqual(try vault.log(limit: 2).count, 2)
        XCTAssertEqual(try vault.log(try Prefix("nothing")).count, 0)
        XCTAssertEqual(all.first?.commit, try git("rev-parse", "HEAD"))
    }

    func testBadRevisions() throws {
        try set(["a": "1"])
        for revision in ["v0", "v2", "nope", "HEAD~5"] {
            assertThrows(.noSuchRevision(id: "a", revision: revision)) { try vault.read(id("a"), at: revision, identities: [me]) }
        }
    }

    /// A commit made by hand with coffer's trailers claims what no signature
    /// backs: history, log and diff show it as `git`, unsigned, its claim
    /// kept beside; and its change is read as any hand-made commit's (a
    /// claimed rotation does not make a new value a re-key).
    func testAnUnverifiedClaimShowsAsGit() throws {
        try set(["a": "1"])
        try write("a.age", try Sealing.seal(bytes("2"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try commitByHand(["a.age"], message: "looks like coffer\n\nCoffer-Action: rotate\nCoffer-Id: a")
        let versions = try vault.history(of: id("a"))
        XCTAssertEqual(versions.map(\.action), ["git", "set"])
        XCTAssertEqual(versions.map(\.origin.claimedAction), ["rotate", "set"])
        XCTAssertEqual(versions.map(\.origin.signature.mark), [.unsigned, .verified])
        XCTAssertEqual(versions.map(\.origin.signature.signer), [nil, "me"])
        XCTAssertEqual(versions.map(\.change), [.value, .created])
        let log = try vault.log()
        XCTAssertEqual(log.map(\.action), ["git", "set", "init"])
        XCTAssertEqual(log.map(\.origin.signature.mark), [.unsigned, .verified, .verified])
        XCTAssertEqual(log.first?.origin, versions.first?.origin)
        XCTAssertEqual(try vault.differences(from: "HEAD~1", to: "HEAD").map(\.origin), [versions.first?.origin])
    }

    /// A vault whose trusted setting turned signing off verifies nothing;
    /// there the claim is all there is, and it is shown.
    func testWithSigningOffTheClaimIsShown() throws {
        try set(["a": "1"])
        try write("a.age", try Sealing.seal(bytes("2"), id: id("a"), for: [named(me, "me")], plugins: .standalone))
        try commitByHand(["a.age"], message: "by hand\n\nCoffer-Action: rotate\nCoffer-Id: a")
        let repo = try vault.repo()
        let off = SignatureChecker(repo: repo, trust: TrustState(pinned: try XCTUnwrap(try repo.head()), signing: false, signers: []))
        XCTAssertFalse(off.signingOn)
        let versions = try vault.history(of: id("a"), checker: off)
        XCTAssertEqual(versions.map(\.action), ["rotate", "set"])
        XCTAssertEqual(versions.map(\.change), [.rekey, .created])
        XCTAssertEqual(versions.map(\.origin.signature.mark), [.unsigned, .unknown])
        XCTAssertEqual(try vault.log(checker: off).map(\.action), ["rotate", "set", "init"])
    }
}
