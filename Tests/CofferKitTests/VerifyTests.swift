import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// verify and verify --fix (Operations/Verify.swift).
final class VerifyTests: VaultTestCase {
    func testCleanVault() throws {
        try set(["a": "1", "ops/b": "2"])
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [])
        XCTAssertEqual(report.checked, 2)
        XCTAssertEqual(report.decrypted, 2)
        let blind = try vault.verify(identities: [])
        XCTAssertEqual(blind.drift, [])
        XCTAssertEqual(blind.decrypted, 0)
    }

    func testRecipientsEdited() throws {
        try set(["a": "1"])
        let other = X25519Identity.generate()
        try write(".recipients", RecipientsFile(entries: [named(me, "me"), named(other, "x")]).text)
        // The secrets it governs are no longer sealed for the readers it names.
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [
            .recipientsEdited(scope: .root),
            .wrongReaders(id: id("a"), scope: .root, missing: [named(other, nil).fingerprint], extra: []),
            .unacceptedReader(UnacceptedReader(change: .added, reader: named(other, "x"), scope: .root, introducedBy: nil)),
        ])
    }

    func testWrongReaders() throws {
        let other = X25519Identity.generate()
        try set(["ops/a": "1", "b": "2"])
        try commitRecipients("ops", [named(me, "me"), named(other, "other")])
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [.wrongReaders(id: id("ops/a"), scope: try Scope("ops"),
                                                    missing: [named(other, nil).fingerprint], extra: [])])
        try commitRecipients("ops", [named(other, "other")])
        XCTAssertEqual(try vault.verify(identities: [me]).drift,
                       [.wrongReaders(id: id("ops/a"), scope: try Scope("ops"),
                                      missing: [named(other, nil).fingerprint], extra: [named(me, nil).fingerprint])])
    }

    func testBoundElsewhere() throws {
        try set(["a": "1"])
        try write("b.age", try read("a.age"))
        try commitByHand(["b.age"])
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [.boundElsewhere(id: id("b"), boundTo: "a")])
        XCTAssertFalse(report.drift[0].isFixable)
    }

    func testDamagedKeepsATypedCause() throws {
        try set(["a": "a value long enough", "b": "2"])
        var file = try read("a.age")
        file[file.count - 2] ^= 0x40
        try write("a.age", file)
        try write("b.age", Array("not an age file\n".utf8))
        try commitByHand(["a.age", "b.age"])
        let drift = try vault.verify(identities: [me]).drift
        XCTAssertEqual(drift.count, 2)
        guard case .damaged(let a, .damaged(id: "a", let cause))? = drift.first else { return XCTFail("\(drift)") }
        XCTAssertEqual(a, id("a"))
        XCTAssertEqual(cause.kind, .payload)
        guard case .damaged(let b, .damaged(id: "b", let headerCause)) = drift[1] else { return XCTFail("\(drift)") }
        XCTAssertEqual(b, id("b"))
        XCTAssertEqual(headerCause.kind, .header)
        XCTAssertFalse(drift[0].isFixable)
        // Without a key, a payload flip cannot be seen; the header one can.
        XCTAssertEqual(try vault.verify(identities: []).drift.count, 1)
    }

    func testMissingBinding() throws {
        try write("plain.age", try Age.encrypt(bytes("x"), to: [me.recipient]))
        try commitByHand(["plain.age"])
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [.damaged(id: id("plain"), cause: .missingBinding(id: "plain"))])
    }

    func testOrphanAndWorkTreeDiffers() throws {
        try set(["a": "1", "b": "2", "ops/c": "3"])
        try write("stray.age", try read("a.age"))
        try write("b.age", try read("a.age"))
        try FileManager.default.removeItem(atPath: path("ops/c.age"))
        let drift = try vault.verify(identities: [me]).drift
        XCTAssertEqual(Set(drift.map { "\($0)" }), Set([
            Drift.orphan(path: "stray.age"), .workTreeDiffers(id: id("b")), .workTreeDiffers(id: id("ops/c")),
        ].map { "\($0)" }))
        XCTAssertEqual(drift.count, 3)
    }

    func testPrefixLimitsTheCheck() throws {
        try set(["prod/a": "1", "dev/b": "2"])
        try write("dev/stray.age", try read("dev/b.age"))
        try write("dev/b.age", try read("prod/a.age"))
        XCTAssertEqual(try vault.verify(try Prefix("prod"), identities: [me]).drift, [])
        XCTAssertEqual(try vault.verify(try Prefix("prod"), identities: [me]).checked, 1)
        XCTAssertEqual(try vault.verify(try Prefix("dev"), identities: [me]).drift.count, 2)
    }

    func testFixAdoptingRecipientsWithoutYouIsARisk() throws {
        let other = X25519Identity.generate()
        try set(["a": "1"])
        try write(".recipients", RecipientsFile(entries: [named(other, "other")]).text)
        // A hand edit is accepted like any other change of readers.
        XCTAssertEqual(try vault.unacceptedReaders().map(\.change), [.added, .dropped])
        try acceptAll()
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [
            .recipientsEdited(scope: .root),
            .wrongReaders(id: id("a"), scope: .root, missing: [named(other, nil).fingerprint], extra: [named(me, nil).fingerprint]),
        ])
        var plan = try vault.planFix(report, me: mine)
        XCTAssertEqual(plan.risks, [.youWouldNotRead([.root])])
        assertThrows(.unconfirmed([.youWouldNotRead([.root])])) { try vault.apply(plan, identities: [me]) }
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        XCTAssertEqual(try value("a", identities: [other]), "1")
        XCTAssertEqual(try vault.verify(identities: [other]).drift, [])
    }

    func testFixRepairsEverythingInOneCommit() throws {
        let other = X25519Identity.generate()
        try set(["a": "1", "b": "2", "ops/c": "3", "ops/d": "4"])
        // A hand-edited root .recipients, a committed ops/.recipients never
        // applied, a stray file, a changed and a missing work-tree copy.
        try write(".recipients", RecipientsFile(entries: [named(me, "me"), named(other, "other")]).text)
        try commitRecipients("ops", [named(me, "me"), named(other, "other")])
        try write("stray.age", try read("a.age"))
        let committedB = try read("b.age")
        try write("b.age", try read("a.age"))
        try FileManager.default.removeItem(atPath: path("ops/d.age"))
        let report = try vault.verify(identities: [me])
        let added = named(other, nil).fingerprint
        XCTAssertEqual(report.drift, [
            .recipientsEdited(scope: .root),
            .wrongReaders(id: id("a"), scope: .root, missing: [added], extra: []),
            .wrongReaders(id: id("b"), scope: .root, missing: [added], extra: []),
            .workTreeDiffers(id: id("b")),
            .wrongReaders(id: id("ops/c"), scope: try Scope("ops"), missing: [added], extra: []),
            .wrongReaders(id: id("ops/d"), scope: try Scope("ops"), missing: [added], extra: []),
            .workTreeDiffers(id: id("ops/d")),
            .orphan(path: "stray.age"),
        ])
        XCTAssertTrue(report.drift.allSatisfy(\.isFixable))

        let plan = try vault.planFix(report, me: mine)
        XCTAssertEqual(plan.risks, [])
        XCTAssertEqual(plan.action, .fix)
        let count = try commitCount()
        let outcome = try vault.apply(plan, identities: [me])
        XCTAssertEqual(try commitCount(), count + 1)
        XCTAssertEqual(Set(outcome.written), [id("a"), id("b"), id("ops/c"), id("ops/d")])
        XCTAssertEqual(outcome.setAside.count, 2)
        XCTAssertTrue(outcome.setAside.allSatisfy { $0.hasPrefix(".git/coffer-orphans/") })
        XCTAssertEqual(Set(outcome.setAside.map { $0.split(separator: "/").last! }), ["stray.age", "b.age"])
        for aside in outcome.setAside { XCTAssertTrue(Files.exists(path(aside)), aside) }
        XCTAssertFalse(Files.exists(path("stray.age")))

        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
        XCTAssertEqual(try git("status", "--porcelain"), "")
        XCTAssertEqual(try value("b"), "2")
        XCTAssertNotEqual(try read("b.age"), committedB)  // re-wrapped for `other`
        for secret in ["a", "b", "ops/c", "ops/d"] {
            XCTAssertEqual(try value(secret, identities: [other]), try value(secret))
        }
        XCTAssertEqual(try vault.log().first?.origin.claimedAction, "verify-fix")
    }

    func testFixOfNothingMakesNoCommit() throws {
        try set(["a": "1"])
        let count = try commitCount()
        let outcome = try vault.apply(try vault.planFix(try vault.verify(identities: [me]), me: mine), identities: [me])
        XCTAssertNil(outcome.commit)
        XCTAssertEqual(try commitCount(), count)
    }
}

extension VerifyTests {
    func testRecipientsDeletedByHandIsReported() throws {
        try commitRecipients("ops", [named(me, "me"), named(X25519Identity.generate(), "other")])
        try set(["ops/a": "1"])
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        let drift = try vault.verify(identities: [me]).drift
        XCTAssertTrue(drift.contains(.recipientsEdited(scope: try Scope("ops"))), "\(drift)")
    }
}

extension VerifyTests {
    func testFixWritesBackARecipientsDeletedByHand() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("ops", [named(me, "me")])
        try set(["ops/a": "1", "b": "2"])
        let committed = try read("ops/.recipients")
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [
            .recipientsEdited(scope: try Scope("ops")),
            .wrongReaders(id: id("ops/a"), scope: .root, missing: [named(other, nil).fingerprint], extra: []),
            .unacceptedReader(UnacceptedReader(change: .added, reader: named(other, "other"), scope: try Scope("ops"), introducedBy: nil)),
        ])
        let outcome = try vault.apply(try vault.planFix(report, me: mine), identities: [me])
        XCTAssertNil(outcome.commit)
        XCTAssertEqual(try read("ops/.recipients"), committed)
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
        assertThrows(.notReadable(id: "ops/a", revision: nil)) { try vault.read(id("ops/a"), identities: [other]) }
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testRecipientsDeletedOutsideThePrefixIsNotReported() throws {
        try commitRecipients("ops", [named(me, "me")])
        try set(["ops/a": "1", "dev/b": "2"])
        try FileManager.default.removeItem(atPath: path("ops/.recipients"))
        XCTAssertEqual(try vault.verify(try Prefix("dev"), identities: [me]).drift, [])
    }
}

extension VerifyTests {
    func testALinkInPlaceOfASealedFileDiffers() throws {
        try set(["a": "1", "ops/b": "2"])
        let outside = directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/ops", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: outside + "/a.age", contents: Data(try read("a.age"))))
        try FileManager.default.removeItem(atPath: path("a.age"))
        XCTAssertEqual(symlink(outside + "/a.age", path("a.age")), 0)
        // The same bytes, but through a link: reads refuse it, so verify must not call it clean.
        assertThrows(.symlinkInVault(path: "a.age")) { try vault.read(id("a"), identities: [me]) }
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [.workTreeDiffers(id: id("a"))])
        // The fix moves the link itself aside and writes the committed file back.
        let outcome = try vault.apply(try vault.planFix(report, me: mine), identities: [me])
        XCTAssertEqual(outcome.setAside.count, 1)
        var info = stat()
        XCTAssertEqual(lstat(path(outcome.setAside[0]), &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFLNK)
        XCTAssertTrue(Files.exists(outside + "/a.age"))
        XCTAssertEqual(try value("a"), "1")
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testFixLeavesALinkedDirectoryAlone() throws {
        try set(["ops/b": "2"])
        let outside = directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: outside + "/b.age", contents: Data(try read("ops/b.age"))))
        try FileManager.default.removeItem(atPath: path("ops"))
        XCTAssertEqual(symlink(outside, path("ops")), 0)
        let report = try vault.verify(identities: [me])
        XCTAssertEqual(report.drift, [.workTreeDiffers(id: id("ops/b"))])
        let outcome = try vault.apply(try vault.planFix(report, me: mine), identities: [me])
        XCTAssertEqual(outcome.setAside, [])
        XCTAssertTrue(Files.exists(outside + "/b.age"))
    }
}
