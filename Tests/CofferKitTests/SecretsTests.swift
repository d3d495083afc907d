import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// get, set, rm, mv, rollback, restore (Operations/Secrets.swift).
final class SecretsTests: VaultTestCase {
    func testSetThenRead() throws {
        let outcome = try set(["db/password": "hunter2", "token": "abc"])
        XCTAssertEqual(outcome.written, [id("db/password"), id("token")])
        XCTAssertNotNil(outcome.commit)
        XCTAssertEqual(try git("rev-parse", "HEAD"), outcome.commit)
        XCTAssertEqual(try value("db/password"), "hunter2")
        XCTAssertEqual(try value("token"), "abc")
        XCTAssertEqual(vault.list(), [id("db/password"), id("token")])
        XCTAssertEqual(vault.list(try Prefix("db")), [id("db/password")])
        XCTAssertTrue(vault.contains(id("token")))
        // The work tree and index match the commit.
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testSameValueAgainIsUnchangedWithoutCommit() throws {
        try set(["a": "1"])
        let before = try commitCount()
        let outcome = try set(["a": "1"])
        XCTAssertEqual(outcome.unchanged, [id("a")])
        XCTAssertEqual(outcome.written, [])
        XCTAssertNil(outcome.commit)
        XCTAssertEqual(try commitCount(), before)
    }

    func testReadAtVersionAndGitRevision() throws {
        try set(["a": "one"])
        try set(["a": "two"])
        try set(["a": "three"])
        XCTAssertEqual(try value("a", at: "v1"), "one")
        XCTAssertEqual(try value("a", at: "v2"), "two")
        XCTAssertEqual(try value("a", at: "HEAD~1"), "two")
        XCTAssertEqual(try value("a", at: "HEAD"), "three")
        let first = try git("rev-parse", "HEAD~2")
        XCTAssertEqual(try value("a", at: first), "one")
        XCTAssertEqual(try value("a", at: String(first.prefix(10))), "one")
    }

    func testReadRefusals() throws {
        try set(["a": "1"])
        assertThrows(.notFound(id: "x")) { try vault.read(id("x"), identities: [me]) }
        assertThrows(.noSuchRevision(id: "a", revision: "v7")) { try vault.read(id("a"), at: "v7", identities: [me]) }
        assertThrows(.noSuchRevision(id: "a", revision: "no-such-branch")) {
            try vault.read(id("a"), at: "no-such-branch", identities: [me])
        }
        // At the init commit the secret did not exist yet.
        assertThrows(.deletedAt(id: "a", revision: "HEAD~1")) { try vault.read(id("a"), at: "HEAD~1", identities: [me]) }
        let stranger = X25519Identity.generate()
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.read(id("a"), identities: [stranger]) }
        assertThrows(.notReadable(id: "a", revision: "v1")) { try vault.read(id("a"), at: "v1", identities: [stranger]) }
    }

    func testSymlinkedSealedFileIsRefused() throws {
        try set(["a": "1"])
        XCTAssertEqual(symlink(path("a.age"), path("b.age")), 0)
        assertThrows(.symlinkInVault(path: "b.age")) { try vault.read(id("b"), identities: [me]) }
        // A linked directory on the way is refused too, for reads and writes.
        try FileManager.default.createDirectory(atPath: directory + "/elsewhere", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(directory + "/elsewhere", path("linked")), 0)
        assertThrows(.symlinkInVault(path: "linked")) { try vault.read(id("linked/x"), identities: [me]) }
        assertThrows(.symlinkInVault(path: "linked")) { try set(["linked/x": "1"]) }
        XCTAssertFalse(Files.exists(directory + "/elsewhere/x.age"))
    }

    func testTamperedPayloadIsDamagedWithItsCause() throws {
        try set(["a": "a value long enough"])
        var file = try read("a.age")
        file[file.count - 3] ^= 0x01
        try write("a.age", file)
        XCTAssertThrowsError(try vault.read(id("a"), identities: [me])) { error in
            guard case VaultError.damaged(id: "a", let cause) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(cause.kind, .payload)
        }
    }

    func testTamperedHeaderIsDamagedWithHeaderMAC() throws {
        try set(["a": "1"])
        var file = try read("a.age")
        // The last header line is `--- <mac>`: change the MAC's first character
        // (the last one carries padding bits, which would make it malformed).
        let offset = try payloadOffset(file)
        let macEnd = file[..<offset].lastIndex(of: 0x0A)!
        let macStart = file[..<macEnd].lastIndex(of: 0x0A)! + 1 + 4
        XCTAssertEqual(Array(file[(macStart - 4)..<macStart]), Array("--- ".utf8))
        file[macStart] = file[macStart] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try write("a.age", file)
        XCTAssertThrowsError(try vault.read(id("a"), identities: [me])) { error in
            guard case VaultError.damaged(id: "a", let cause) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(cause.kind, .headerMAC)
        }
    }

    func testFileCopiedToAnotherIDIsRefused() throws {
        try set(["a": "1"])
        try write("b.age", try read("a.age"))
        assertThrows(.boundToOtherID(id: "b", boundTo: "a")) { try vault.read(id("b"), identities: [me]) }
    }

    func testFileWithoutBindingIsRefused() throws {
        try write("plain.age", try Age.encrypt(bytes("x"), to: [me.recipient]))
        assertThrows(.missingBinding(id: "plain")) { try vault.read(id("plain"), identities: [me]) }
    }

    func testSealingWhereYouDoNotReadIsARiskToConfirm() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(other, "other")])
        var plan = try vault.planSet([(id("ops/key"), bytes("k")), (id("mine"), bytes("m"))], me: mine)
        XCTAssertEqual(plan.risks, [.youWouldNotRead([try Scope("ops")])])
        XCTAssertFalse(plan.isConfirmed)
        let before = try commitCount()
        assertThrows(.unconfirmed([.youWouldNotRead([try Scope("ops")])])) { try vault.apply(plan, identities: [me]) }
        XCTAssertEqual(try commitCount(), before)
        XCTAssertFalse(vault.contains(id("ops/key")))
        plan.confirm()
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(outcome.written, [id("ops/key"), id("mine")])
        XCTAssertEqual(try commitCount(), before + 1)
        XCTAssertEqual(try value("ops/key", identities: [other]), "k")
        assertThrows(.notReadable(id: "ops/key", revision: nil)) { try vault.read(id("ops/key"), identities: [me]) }
        // Without `me`, there is nothing to judge: no risk.
        XCTAssertEqual(try vault.planSet([(id("ops/key2"), bytes("k"))], me: nil).risks, [])
        // Where you read, no risk.
        XCTAssertEqual(try vault.planSet([(id("x"), bytes("k"))], me: mine).risks, [])
    }

    func testUncommittedRecipientsAreRefused() throws {
        let other = X25519Identity.generate()
        try write(".recipients", RecipientsFile(entries: [named(me, "me"), named(other, "other")]).text)
        assertThrows(.uncommittedRecipients(path: ".recipients")) { try set(["a": "1"]) }
        // An untracked sub-scope file is refused too.
        try git("checkout", "--", ".recipients")
        try write("ops/.recipients", RecipientsFile(entries: [named(other, "other")]).text)
        assertThrows(.uncommittedRecipients(path: "ops/.recipients")) { try set(["ops/a": "1"]) }
        XCTAssertFalse(vault.contains(id("ops/a")))
    }

    func testRemove() throws {
        try set(["a": "1", "b": "2"])
        let outcome = try vault.remove([id("a")])
        XCTAssertEqual(outcome.removed, [id("a")])
        XCTAssertFalse(vault.contains(id("a")))
        XCTAssertEqual(vault.list(), [id("b")])
        XCTAssertEqual(try git("status", "--porcelain"), "")
        assertThrows(.notFound(id: "a")) { try vault.remove([id("a")]) }
        // History keeps the value.
        XCTAssertEqual(try value("a", at: "v1"), "1")
    }

    func testMove() throws {
        try set(["a": "1", "b": "2"])
        let outcome = try vault.apply(vault.planMove(id("a"), to: id("deep/c"), me: nil), identities: [me])
        XCTAssertEqual(outcome.written, [id("deep/c")])
        XCTAssertEqual(outcome.removed, [id("a")])
        XCTAssertFalse(vault.contains(id("a")))
        XCTAssertEqual(try value("deep/c"), "1")
        XCTAssertEqual(try git("status", "--porcelain"), "")
        assertThrows(.notFound(id: "a")) { try vault.apply(vault.planMove(id("a"), to: id("z"), me: nil), identities: [me]) }
        assertThrows(.alreadyExists(id: "b")) { try vault.apply(vault.planMove(id("deep/c"), to: id("b"), me: nil), identities: [me]) }
        XCTAssertEqual(try value("b"), "2")
    }

    func testMoveIntoAnotherScopeSealsForItsReaders() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(me, "me"), named(other, "other")])
        try set(["a": "1"])
        _ = try vault.apply(vault.planMove(id("a"), to: id("ops/a"), me: nil), identities: [me])
        XCTAssertEqual(try value("ops/a", identities: [other]), "1")
    }

    func testMovingIntoAScopeYouDoNotReadIsARiskToConfirm() throws {
        let other = X25519Identity.generate()
        try commitRecipients("theirs", [named(other, "other")])
        try set(["a": "1"])
        var plan = try vault.planMove(id("a"), to: id("theirs/a"), me: [me.recipient.reader])
        XCTAssertEqual(plan.risks, [.youWouldNotRead([try Scope("theirs")])])
        assertThrows(.unconfirmed(plan.risks)) { try vault.apply(plan, identities: [me]) }
        XCTAssertTrue(vault.contains(id("a")), "nothing moved before the confirmation")
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        XCTAssertEqual(try value("theirs/a", identities: [other]), "1")
    }

    func testMovingASecretYouCannotReadIsRefusedNamingIt() throws {
        try set(["a": "1"])
        let stranger = X25519Identity.generate()
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.planMove(id("a"), to: id("b"), me: [stranger.recipient.reader]) }
        XCTAssertTrue(vault.contains(id("a")))
    }

    func testRollback() throws {
        try set(["a": "one"])
        try set(["a": "two"])
        let outcome = try vault.rollback(id("a"), to: "v1", identities: [me])
        XCTAssertEqual(outcome.written, [id("a")])
        XCTAssertEqual(try value("a"), "one")
        // Rolling back to the current value writes nothing.
        let again = try vault.rollback(id("a"), to: "v1", identities: [me])
        XCTAssertNil(again.commit)
        XCTAssertEqual(again.unchanged, [id("a")])
        assertThrows(.noSuchRevision(id: "a", revision: "v9")) { try vault.rollback(id("a"), to: "v9", identities: [me]) }
    }

    func testRestore() throws {
        try set(["a": "one"])
        try set(["a": "two"])
        assertThrows(.alreadyExists(id: "a")) { try vault.restore(id("a"), identities: [me]) }
        _ = try vault.remove([id("a")])
        let outcome = try vault.restore(id("a"), identities: [me])
        XCTAssertEqual(outcome.written, [id("a")])
        XCTAssertEqual(try value("a"), "two")
        _ = try vault.remove([id("a")])
        _ = try vault.restore(id("a"), at: "v1", identities: [me])
        XCTAssertEqual(try value("a"), "one")
        assertThrows(.notFound(id: "never")) { try vault.restore(id("never"), identities: [me]) }
    }

    func testHeldLockIsLocked() throws {
        try set(["a": "1"])
        var held: DirectoryLock? = try DirectoryLock(path: root + "/.git/coffer.lock", timeout: 0)
        try withExtendedLifetime(held) {
            assertThrows(.locked(waitedSeconds: 0)) { try set(["a": "2"]) }
            assertThrows(.locked(waitedSeconds: 0)) { try vault.remove([id("a")]) }
            // Reads take no lock.
            XCTAssertEqual(try value("a"), "1")
        }
        held = nil
        try set(["a": "2"])
        XCTAssertEqual(try value("a"), "2")
    }
}

/// How the readers of a secret are found (Store/WorkTree.swift), as set sees them.
final class ScopeLookupTests: VaultTestCase {
    func testInvalidRecipientsFileNamesTheLine() throws {
        try write("ops/.recipients", "# ops\n\(me.recipient.encoded) # me\nnot-a-key\n")
        try commitByHand(["ops/.recipients"])
        assertThrows(.invalidRecipientsFile(path: "ops/.recipients", line: 3)) { try set(["ops/a": "1"]) }
        try write("ops/.recipients", "\(me.recipient.encoded)\u{0B}# hidden\n")
        assertThrows(.invalidRecipientsFile(path: "ops/.recipients", line: 1)) { try vault.readers(in: try Scope("ops")) }
    }

    func testEmptyRecipientsFileIsNoRecipients() throws {
        try write("ops/.recipients", "# nobody yet\n")
        try commitByHand(["ops/.recipients"])
        assertThrows(.noRecipients(scope: try Scope("ops"))) { try set(["ops/a": "1"]) }
        assertThrows(.noRecipients(scope: try Scope("ops"))) { try vault.planSet([(id("ops/deep/a"), bytes("1"))], me: mine) }
    }

    func testSymlinkedRecipientsIsRefused() throws {
        try FileManager.default.createDirectory(atPath: path("ops"), withIntermediateDirectories: true)
        XCTAssertEqual(symlink(path(".recipients"), path("ops/.recipients")), 0)
        assertThrows(.symlinkInVault(path: "ops/.recipients")) { try set(["ops/a": "1"]) }
    }

    func testDetachedHeadIsRefused() throws {
        try set(["a": "1"])
        try git("checkout", "-q", "--detach")
        assertThrows(.detachedHead) { try set(["a": "2"]) }
        XCTAssertEqual(try value("a"), "1")
    }

    func testRecipientsDeletedByHandIsNotSilentlyBypassed() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("ops", [named(me, "me")])
        try set(["ops/a": "1"])
        // The committed ops/.recipients is deleted but the deletion is not
        // committed: the root's readers must not silently take over.
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        assertThrows(.uncommittedRecipients(path: "ops/.recipients")) { try set(["ops/b": "2"]) }
        XCTAssertFalse(vault.contains(id("ops/b")))
    }

    func testRollbackSealsForTodaysReaders() throws {
        let other = X25519Identity.generate()
        try set(["a": "one"])
        try set(["a": "two"])
        var plan = try vault.planAddReader(named(other, "other"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        _ = try vault.rollback(id("a"), to: "v1", identities: [me])
        XCTAssertEqual(try value("a", identities: [other]), "one")
    }

    func testJournalLeftWhileLockedIsLocked() throws {
        try set(["a": "1"])
        let head = try git("rev-parse", "HEAD")
        try write(".git/coffer-journal", "old \(head)\nnew \(head)\n")
        var held: DirectoryLock? = try DirectoryLock(path: root + "/.git/coffer.lock", timeout: 0)
        withExtendedLifetime(held) {
            assertThrows(.locked(waitedSeconds: 0)) { try Vault.open(containing: root, configuration: VaultTestCase.configuration) }
        }
        held = nil
        _ = try Vault.open(containing: root, configuration: VaultTestCase.configuration)
        XCTAssertFalse(Files.exists(path(".git/coffer-journal")))
    }

    func testSameIDTwiceInOneSet() throws {
        var plan = try vault.planSet([(id("a"), bytes("1")), (id("a"), bytes("2"))], me: mine)
        plan.confirm()
        _ = try? vault.apply(plan, identities: [me])
        // Whatever was decided, HEAD and the work tree agree.
        XCTAssertEqual(try git("status", "--porcelain"), "")
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }
}

extension SecretsTests {
    func testListNeverFollowsALinkedDirectory() throws {
        try set(["a": "1"])
        let outside = directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: outside + "/x.age", contents: Data(try read("a.age"))))
        XCTAssertEqual(symlink(outside, path("linked")), 0)
        XCTAssertEqual(vault.list(), [id("a")])
        XCTAssertEqual(vault.list(try Prefix("linked")), [])
        XCTAssertFalse(vault.contains(id("linked/x")))
        XCTAssertEqual(try vault.verify(try Prefix("linked"), identities: [me]).drift, [])
        assertThrows(.noSecrets(under: try Prefix("linked"))) { try vault.rotate(try Prefix("linked"), identities: [me]) }
    }
}
