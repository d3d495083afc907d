import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// recipients list, add, rm (Operations/Readers.swift).
final class ReadersTests: VaultTestCase {
    func testAddReaderRewrapsAndStockAgeOpensTheFile() throws {
        let age = try tool("age")
        let other = X25519Identity.generate()
        try set(["a": "value of a", "prod/b": "value of b"])
        let before = try read("a.age")
        let plan = try vault.planAddReader(named(other, "other"), to: nil)
        XCTAssertEqual(plan.action, .rewrap)
        XCTAssertEqual(plan.secretCount, 2)
        XCTAssertEqual(plan.readers, [ScopeReaders(scope: .root, readers: [named(me, "me"), named(other, "other")])])
        XCTAssertEqual(plan.risks, [])
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(outcome.written, [id("a"), id("prod/b")])
        XCTAssertEqual(outcome.rekeyed, [])
        XCTAssertEqual(outcome.exposed, [])
        XCTAssertEqual(try vault.readers(of: id("a")).readers, [named(me, "me"), named(other, "other")])
        XCTAssertEqual(try git("status", "--porcelain"), "")

        let after = try read("a.age")
        XCTAssertNotEqual(after, before)
        XCTAssertEqual(after[try payloadOffset(after)...], before[try payloadOffset(before)...])
        XCTAssertEqual(try value("a", identities: [other]), "value of a")

        let keyFile = directory + "/other.key"
        try Data(other.encodedSecretKey().withUnsafeBytes { Array($0) } + [0x0A]).write(to: URL(fileURLWithPath: keyFile))
        let decrypted = try run("age", ["-d", "-i", keyFile, path("prod/b.age")])
        XCTAssertEqual(decrypted.output, "value of b")
        XCTAssertFalse(age.isEmpty)
    }

    func testAddReaderToADirectoryGivesItItsOwnRecipients() throws {
        let other = X25519Identity.generate()
        try set(["a": "1", "ops/b": "2", "ops/deep/c": "3"])
        let plan = try vault.planAddReader(named(other, "other"), to: [try Scope("ops")])
        XCTAssertEqual(plan.secretCount, 2)
        _ = try vault.apply(plan, identities: [me])
        XCTAssertEqual(vault.scopes(), [.root, try Scope("ops")])
        XCTAssertEqual(try value("ops/deep/c", identities: [other]), "3")
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.read(id("a"), identities: [other]) }
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testAlreadyReads() throws {
        assertThrows(.alreadyReads(reader: "me", scopes: [.root])) {
            try vault.planAddReader(named(me, "me"), to: nil)
        }
        // Without a name, the key names the reader.
        assertThrows(.alreadyReads(reader: me.recipient.encoded, scopes: [.root])) {
            try vault.planAddReader(named(me, nil), to: nil)
        }
    }

    func testRemoveReaderRekeysAndListsExposedIDs() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("solo", [named(me, "me")])
        try set(["a": "1", "b": "2", "solo/c": "3"])
        // Sealed by hand for `me` alone before `other` was added: re-sealed, not exposed.
        try write("old.age", try Sealing.seal(bytes("4"), id: id("old"), for: [named(me, "me")], plugins: .standalone))
        try commitByHand(["old.age"])
        let beforeA = try read("a.age")

        let plan = try vault.planRemoveReader(.name("other"), from: nil, me: mine)
        XCTAssertEqual(plan.action, .rekey)
        XCTAssertEqual(plan.risks, [])
        XCTAssertEqual(plan.removedReaders, [named(other, "other")])
        XCTAssertEqual(plan.readers, [ScopeReaders(scope: .root, readers: [named(me, "me")])])
        XCTAssertEqual(plan.secretCount, 3)
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(outcome.exposed, [id("a"), id("b")])
        XCTAssertEqual(outcome.rekeyed, [id("a"), id("b")])
        XCTAssertEqual(outcome.unchanged, [id("old")])
        let afterA = try read("a.age")
        XCTAssertNotEqual(afterA[try payloadOffset(afterA)...], beforeA[try payloadOffset(beforeA)...])
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.read(id("a"), identities: [other]) }
        XCTAssertEqual(try value("a"), "1")
        XCTAssertEqual(try vault.readers(in: .root).readers, [named(me, "me")])
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testRemoveReaderFromOneScopeOnly() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("ops", [named(me, "me"), named(other, "other")])
        try set(["a": "1", "ops/b": "2"])
        let plan = try vault.planRemoveReader(.key(other.recipient.reader), from: [try Scope("ops")], me: mine)
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(outcome.exposed, [id("ops/b")])
        XCTAssertEqual(try value("a", identities: [other]), "1")
        assertThrows(.notReadable(id: "ops/b", revision: nil)) { try vault.read(id("ops/b"), identities: [other]) }
    }

    func testOnlyReaderIsRefusedNamingTheScope() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("ops", [named(other, "other")])
        assertThrows(.onlyReader(reader: "other", scopes: [try Scope("ops")])) {
            try vault.planRemoveReader(.name("other"), from: nil, me: mine)
        }
        assertThrows(.onlyReader(reader: other.recipient.encoded, scopes: [try Scope("ops")])) {
            try vault.planRemoveReader(.key(other.recipient.reader), from: [try Scope("ops")], me: mine)
        }
        // Removing from the root alone is fine: `me` is left there.
        XCTAssertEqual(try vault.planRemoveReader(.name("other"), from: [.root], me: mine).risks, [])
    }

    func testSelectorRefusals() throws {
        let other = X25519Identity.generate()
        try set(["ops/a": "1"])
        assertThrows(.notAScope(try Scope("ops"), inheritsFrom: .root)) {
            try vault.planRemoveReader(.name("me"), from: [try Scope("ops")], me: mine)
        }
        assertThrows(.notAReader(reader: "ghost", scope: nil)) {
            try vault.planRemoveReader(.name("ghost"), from: nil, me: mine)
        }
        assertThrows(.notAReader(reader: "ghost", scope: .root)) {
            try vault.planRemoveReader(.name("ghost"), from: [.root], me: mine)
        }
        assertThrows(.notAReader(reader: other.recipient.encoded, scope: nil)) {
            try vault.planRemoveReader(.key(other.recipient.reader), from: nil, me: mine)
        }
        let twin = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "dup"), named(twin, "dup")])
        assertThrows(.ambiguousReader(name: "dup", keys: [other.recipient.encoded, twin.recipient.encoded])) {
            try vault.planRemoveReader(.name("dup"), from: nil, me: mine)
        }
        // The key says which one.
        XCTAssertEqual(try vault.planRemoveReader(.key(twin.recipient.reader), from: nil, me: mine).removedReaders, [named(twin, "dup")])
    }

    func testReaderSelectorParsing() throws {
        XCTAssertEqual(try ReaderSelector(me.recipient.encoded), .key(me.recipient.reader))
        XCTAssertEqual(try ReaderSelector("alice"), .name("alice"))
        XCTAssertThrowsError(try ReaderSelector("age1notakey"))
    }

    func testRemovingYourselfIsARisk() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try set(["a": "1"])
        var plan = try vault.planRemoveReader(.name("me"), from: nil, me: mine)
        XCTAssertEqual(plan.risks, [.youWouldNotRead([.root])])
        assertThrows(.unconfirmed([.youWouldNotRead([.root])])) { try vault.apply(plan, identities: [me]) }
        plan.confirm()
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(outcome.exposed, [id("a")])
        XCTAssertEqual(try value("a", identities: [other]), "1")
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.read(id("a"), identities: [me]) }
    }

    func testReaderSummaryCounts() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(other, "other")])
        try commitRecipients("ops/db", [named(me, "me"), named(other, "other")])
        try set(["a": "1", "b": "2", "ops/c": "3", "ops/deep/d": "4", "ops/db/e": "5"])
        let summary = try vault.readerSummary()
        XCTAssertEqual(summary, [
            ScopeSummary(scope: .root, readers: [named(me, "me")], secretCount: 2),
            ScopeSummary(scope: try Scope("ops"), readers: [named(other, "other")], secretCount: 2),
            ScopeSummary(scope: try Scope("ops/db"), readers: [named(me, "me"), named(other, "other")], secretCount: 1),
        ])
    }

    func testHeldLockIsLocked() throws {
        try set(["a": "1"])
        let plan = try vault.planAddReader(named(X25519Identity.generate(), "other"), to: nil)
        var held: DirectoryLock? = try DirectoryLock(path: root + "/.git/coffer.lock", timeout: 0)
        withExtendedLifetime(held) {
            assertThrows(.locked(waitedSeconds: 0)) { try vault.apply(plan, identities: [me]) }
        }
        held = nil
        XCTAssertNotNil(try vault.apply(plan, identities: [me]).commit)
    }
}

extension ReadersTests {
    /// A hand edit of `.recipients` not yet committed must not ride along
    /// with a reader change: the change starts from the recorded readers.
    func testUncommittedRecipientsDoNotRideAlong() throws {
        let mallory = X25519Identity.generate(), bob = X25519Identity.generate()
        try set(["a": "1"])
        try write(".recipients", RecipientsFile(entries: [named(me, "me"), named(mallory, "mallory")]).text)
        assertThrows(.uncommittedRecipients(path: ".recipients")) { try vault.planAddReader(named(bob, "bob"), to: nil) }
        assertThrows(.uncommittedRecipients(path: ".recipients")) {
            try vault.planRemoveReader(.name("mallory"), from: nil, me: mine)
        }
        // Nor is it copied into a directory that inherits from it.
        assertThrows(.uncommittedRecipients(path: ".recipients")) {
            try vault.planAddReader(named(bob, "bob"), to: [try Scope("ops")])
        }
        // Untracked, in a sub-scope.
        try git("checkout", "--", ".recipients")
        try write("ops/.recipients", RecipientsFile(entries: [named(me, "me"), named(mallory, "mallory")]).text)
        assertThrows(.uncommittedRecipients(path: "ops/.recipients")) { try vault.planAddReader(named(bob, "bob"), to: nil) }
        // Deleted by hand.
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        try commitRecipients("ops", [named(me, "me")])
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        assertThrows(.uncommittedRecipients(path: "ops/.recipients")) {
            try vault.planAddReader(named(bob, "bob"), to: [try Scope("ops")])
        }
        XCTAssertEqual(try commitCount(), 3)
    }
}
