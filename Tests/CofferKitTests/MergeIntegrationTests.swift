import Foundation
import XCTest
import Age
import GitStore
import SSHSig
import TestServers
@testable import CofferKit

/// `Vault.integrate`: another clone's commit brought in through libgit2's
/// merge with coffer's driver registered in-process. The other clone is
/// made and fetched with the stock git CLI, so only the merge is coffer's.
final class MergeIntegrationTests: VaultTestCase {
    private var other: Vault!
    private let key = SSHSigningKey.generate()

    /// Two clones of a signed vault, both signing with the pinned key (one
    /// person's two machines), so the chain of trust accepts each side's readers.
    override func setUpWithError() throws {
        try super.setUpWithError()
        try useSignedVault(key: key)
        try set(["app/a": "one", "app/b": "two"])
        try git("clone", "-q", root, directory + "/other", in: directory)
        other = try Vault.open(containing: directory + "/other", configuration: VaultTestCase.configuration)
        other.commitSigner = CommitSigner(key: key)
        try other.pin(try other.pinCandidate())
    }

    /// Fetches the other clone's HEAD into `vault` with stock git; its id.
    private func fetchOther() throws -> ObjectID {
        try git("fetch", "-q", other.root, "HEAD", in: root)
        return try XCTUnwrap(ObjectID(hex: try git("rev-parse", "FETCH_HEAD", in: root)))
    }

    private func parents(_ rev: String = "HEAD") throws -> [String] {
        try git("log", "-1", "--format=%P", rev, in: root).split(separator: " ").map(String.init)
    }

    func testDisjointEditsMergeInOneCommitWithBothParents() throws {
        try set(["app/a": "ours"])
        try set(["app/b": "theirs"], in: other)
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(result.incoming.map(\.value), ["app/b"])
        XCTAssertEqual(try value("app/a"), "ours")
        XCTAssertEqual(try value("app/b"), "theirs")
        XCTAssertEqual(try parents().count, 2)
        XCTAssertEqual(try git("status", "--porcelain", in: root), "")
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }

    func testFastForwardWhenOursIsBehind() throws {
        try set(["app/c": "new"], in: other)
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .fastForward)
        XCTAssertEqual(try value("app/c"), "new")
        XCTAssertEqual(try git("rev-parse", "HEAD", in: root), try git("rev-parse", "HEAD", in: other.root))
        XCTAssertEqual(try git("status", "--porcelain", in: root), "")
    }

    /// One side re-wrapped (a reader added), the other changed the value:
    /// the value wins, sealed for the merged readers in the merge commit.
    func testChangedValueWinsOverRewrapAndIsSealedForMergedReaders() throws {
        let bob = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        try set(["app/a": "changed"], in: other)
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(try value("app/a"), "changed")
        XCTAssertEqual(try value("app/a", identities: [bob]), "changed", "re-sealed for the reader added on our side")
        XCTAssertEqual(result.resealed.map(\.value), ["app/a"])
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }

    /// Both sides changed one value: nothing is written, the conflict is
    /// recorded; resolving it makes the merge.
    func testBothChangedIsAConflictUntilResolved() throws {
        try set(["app/a": "ours"])
        try set(["app/a": "theirs", "app/b": "also theirs"], in: other)
        let before = try git("rev-parse", "HEAD", in: root)
        let sealedBefore = try Data(contentsOf: URL(fileURLWithPath: root + "/app/a.age"))
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .conflicts)
        XCTAssertEqual(result.conflicts.map(\.path), ["app/a.age"])
        XCTAssertEqual(try git("rev-parse", "HEAD", in: root), before, "nothing committed")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/app/a.age")), sealedBefore, "work tree untouched")
        XCTAssertEqual(try vault.conflicts().map(\.id?.value), ["app/a"])
        let settled = try vault.resolve(id("app/a"), .theirs, identities: [me])
        XCTAssertEqual(settled.kind, .merged)
        XCTAssertEqual(try value("app/a"), "theirs")
        XCTAssertEqual(try value("app/b"), "also theirs")
        XCTAssertEqual(try vault.conflicts(), [])
        XCTAssertEqual(try parents().count, 2)
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }

    func testResolveWithANewValue() throws {
        try set(["app/a": "ours"])
        try set(["app/a": "theirs"], in: other)
        _ = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        _ = try vault.resolve(id("app/a"), .value(bytes("third")), identities: [me])
        XCTAssertEqual(try value("app/a"), "third")
    }

    /// Both sides added a reader to the same scope: `.recipients` merges
    /// as the union, and every secret is sealed for both new readers.
    func testReadersAddedOnBothSidesMergeAsUnion() throws {
        let bob = X25519Identity.generate(), carol = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        var theirs = try other.planAddReader(named(carol, "carol"), to: nil)
        theirs.confirm()
        _ = try other.apply(theirs, identities: [me])
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        let readers = try vault.readers(of: id("app/a")).readers.map(\.name)
        XCTAssertEqual(Set(readers.compactMap { $0 }), ["me", "bob", "carol"])
        for who in [bob, carol] {
            XCTAssertEqual(try value("app/a", identities: [who]), "one")
            XCTAssertEqual(try value("app/b", identities: [who]), "two")
        }
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
        XCTAssertEqual(try vault.trustStatus().held, [], "the signed merge keeps the chain")
        XCTAssertNotNil(try vault.repo().commitSignature(try XCTUnwrap(vault.repo().head())), "the merge commit is signed")
    }

    /// A reader pulled in by an unsigned commit is never sealed for: the
    /// merge is made, the scope's files are left as they were, and say so.
    func testUnsignedReaderFromTheOtherSideIsHeldBack() throws {
        other.commitSigner = nil
        let eve = X25519Identity.generate()
        var theirs = try other.planAddReader(named(eve, "eve"), to: nil)
        theirs.confirm()
        _ = try other.apply(theirs, identities: [me])
        try set(["app/a": "ours"])
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(result.heldBack.map(\.value), ["app/a", "app/b"], "neither is sealed for the merged readers")
        XCTAssertThrowsError(try value("app/a", identities: [eve]), "never sealed for the unaccepted reader")
        XCTAssertNil(try vault.repo().commitSignature(try XCTUnwrap(vault.repo().head())),
                     "a merge carrying a held-back change is not signed: a signature would vouch for it")
        XCTAssertFalse(try vault.trustStatus().held.isEmpty)
    }
}

extension MergeIntegrationTests {
    /// One key added under two names: the merged lines are no valid
    /// `.recipients`, so the path is a conflict, settled like a secret's.
    func testRecipientsThatCannotMergeAreAConflictSettledByPath() throws {
        let bob = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        var theirs = try other.planAddReader(named(bob, "robert"), to: nil)
        theirs.confirm()
        _ = try other.apply(theirs, identities: [me])
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .conflicts)
        XCTAssertEqual(result.conflicts.map(\.path), [".recipients"])
        XCTAssertEqual(result.conflicts.first?.reason, MergeDriver.ConflictReason.invalidLines.description)
        let settled = try vault.resolve(path: ".recipients", .ours, identities: [me])
        XCTAssertEqual(settled.kind, .merged)
        XCTAssertEqual(try value("app/a", identities: [bob]), "one")
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }

    /// A record left by a crash after its merge landed lists nothing.
    func testARecordOfAMergeAlreadyMadeListsNoConflicts() throws {
        try set(["app/a": "ours"])
        try set(["app/a": "theirs"], in: other)
        _ = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        let record = try Data(contentsOf: URL(fileURLWithPath: root + "/.git/coffer/merge"))
        _ = try vault.resolve(id("app/a"), .ours, identities: [me])
        try record.write(to: URL(fileURLWithPath: root + "/.git/coffer/merge"))
        XCTAssertEqual(try vault.conflicts(), [])
    }
}

extension MergeIntegrationTests {
    /// The other side removed a reader (and re-keyed what it read); ours
    /// changed a value still sealed for them: the merge re-keys it and
    /// names it exposed, as `recipients rm` does.
    func testAReaderRemovedOnTheOtherSideReKeysOurChangeAndReportsItExposed() throws {
        let bob = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        try git("pull", "-q", "--ff-only", root, "HEAD", in: other.root)
        var removal = try other.planRemoveReader(.name("bob"), from: nil, me: nil)
        removal.confirm()
        _ = try other.apply(removal, identities: [me])
        try set(["app/a": "ours, bob read the old one"])
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(result.exposed.map(\.value), ["app/a"])
        XCTAssertThrowsError(try value("app/a", identities: [bob]))
        XCTAssertEqual(try value("app/a"), "ours, bob read the old one")
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }
}

extension MergeIntegrationTests {
    /// A pushed file bound to another id cannot be re-sealed: the merge is
    /// made all the same, the file carried as it came and named damaged.
    func testAFileBoundElsewhereIsCarriedAndNamedNotResealed() throws {
        let bob = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        try FileManager.default.copyItem(atPath: other.root + "/app/a.age", toPath: other.root + "/app/c.age")
        try git("add", "app/c.age", in: other.root)
        try git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "copied by hand", in: other.root)
        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(result.damaged.map(\.value), ["app/c"])
        XCTAssertEqual(try value("app/a", identities: [bob]), "one")
    }
}

extension MergeIntegrationTests {
    /// A tree object written by hand (see `TestTools.handMadeTree`).
    private func handMadeTree(_ entries: [(String, String, String)], in dir: String) throws -> String {
        try TestTools.handMadeTree(entries, in: dir, scratch: directory)
    }

    /// The other clone's HEAD tree with one hand-made directory added (named
    /// `name`, holding `inner`), committed on top of its HEAD.
    private func pushHandMade(_ name: String, inner: [(String, String, String)]) throws -> ObjectID {
        let dir = other.root
        let subtree = try handMadeTree(inner, in: dir)
        let top = try git("ls-tree", "HEAD", in: dir).split(separator: "\n").map { line -> (String, String, String) in
            let fields = line.split(separator: "\t", maxSplits: 1)
            let meta = fields[0].split(separator: " ")
            return (meta[0] == "040000" ? "40000" : String(meta[0]), String(fields[1]), String(meta[2]))
        }
        let tree = try handMadeTree(top + [("40000", name, subtree)], in: dir)
        let commit = try git("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", tree, "-p", "HEAD", "-m", "hand-made", in: dir)
        try git("update-ref", "HEAD", commit, in: dir)
        return try fetchOther()
    }

    /// A pushed tree naming `..` or `.git` (git refuses to check either out)
    /// must not send a sync's writes outside the vault or into the
    /// repository's hooks: nothing lands, and HEAD stays.
    func testAHandMadeTreeWithDotDotOrDotGitIsRefusedBeforeAnythingIsWritten() throws {
        let hook = try git("hash-object", "-w", "--stdin", in: other.root)  // the empty blob
        let hooks = try handMadeTree([("100755", "post-merge", hook)], in: other.root)
        let escaped = try handMadeTree([("100644", "escaped", hook)], in: other.root)
        let up = try handMadeTree([("40000", "..", escaped)], in: other.root)
        let before = try git("rev-parse", "HEAD", in: root)
        for (name, inner) in [(".git", [("40000", "hooks", hooks)]), ("zz", [("40000", "..", up)]), (".GIT", [("40000", "hooks", hooks)])] {
            let theirs = try pushHandMade(name, inner: inner)
            XCTAssertThrowsError(try vault.integrate(theirs, source: "other/main", identities: [me]), name) { error in
                guard case VaultError.unsafePath = error else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(try git("rev-parse", "HEAD", in: root), before, name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/escaped"), "written outside the vault")
            XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/.git/hooks/post-merge"), "written into .git")
            XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/.GIT"))
            try git("reset", "-q", "--hard", "HEAD^", in: other.root)
        }
        // The same behind a merge (our side moved on too).
        try set(["app/a": "ours"])
        let theirs = try pushHandMade("zz", inner: [("40000", "..", up)])
        XCTAssertThrowsError(try vault.integrate(theirs, source: "other/main", identities: [me]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/escaped"), "written outside the vault")
        XCTAssertEqual(try git("status", "--porcelain", in: root), "")
    }
}

extension MergeIntegrationTests {
    /// `resolve` taking over a stock `git merge` that stopped on a conflict
    /// puts back only what git's merge wrote: a file the merge left alone
    /// keeps the work the user had not committed.
    func testTakingOverAStockMergeKeepsUncommittedWorkTheMergeLeftAlone() throws {
        try set(["app/a": "ours"])
        try write("notes.txt", "committed\n")
        try commitByHand(["notes.txt"])
        try write("notes.txt", "not committed yet\n")
        try set(["app/a": "theirs", "app/b": "also theirs"], in: other)
        _ = try fetchOther()
        let merge = try run("git", ["-c", "user.name=x", "-c", "user.email=x@x", "merge", "--no-edit", "FETCH_HEAD"],
                            expectSuccess: false)
        XCTAssertNotEqual(merge.status, 0, "git's merge stops on the conflict")
        XCTAssertEqual(try vault.conflicts(identities: [me]).map(\.path), ["app/a.age"])
        let settled = try vault.resolve(id("app/a"), .ours, identities: [me])
        XCTAssertEqual(settled.kind, .merged)
        XCTAssertEqual(String(decoding: try read("notes.txt"), as: UTF8.self), "not committed yet\n")
        XCTAssertEqual(try value("app/a"), "ours")
        XCTAssertEqual(try value("app/b"), "also theirs")
        XCTAssertEqual(try git("status", "--porcelain", in: root), "M notes.txt")
    }
}

extension MergeIntegrationTests {
    /// A stock `git clone` coffer never wrote in pins no signers and accepts
    /// its own HEAD's readers. Its first `coffer sync` must not change
    /// that: fast-forwarding to a hand-made push that names a new signer
    /// and a new reader neither pins the one nor accepts the other.
    func testAFirstSyncInAStockCloneNeitherPinsNorAcceptsWhatThePushBrought() throws {
        try git("clone", "-q", root, directory + "/third", in: directory)
        let third = try Vault.open(containing: directory + "/third", configuration: VaultTestCase.configuration)
        let eve = X25519Identity.generate(), eveKey = SSHSigningKey.generate()
        try Data((try String(contentsOfFile: other.root + "/.recipients", encoding: .utf8) + "\(eve.recipient.encoded) # eve\n").utf8)
            .write(to: URL(fileURLWithPath: other.root + "/.recipients"))
        try Data((try String(contentsOfFile: other.root + "/.signers", encoding: .utf8) + "eve \(eveKey.publicKey.authorizedKey)\n").utf8)
            .write(to: URL(fileURLWithPath: other.root + "/.signers"))
        try git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "tidy", in: other.root)
        try git("fetch", "-q", other.root, "HEAD", in: third.root)
        let theirs = try XCTUnwrap(ObjectID(hex: try git("rev-parse", "FETCH_HEAD", in: third.root)))
        XCTAssertEqual(try third.integrate(theirs, source: "other/main", identities: [me]).kind, .fastForward)
        let (trust, accepted) = try third.trusted()
        XCTAssertFalse(trust?.signers.contains { $0.key == eveKey.publicKey } ?? false, "eve's key pinned as a signer")
        XCTAssertFalse(accepted.baseline(for: .root)?.readers.contains { $0.recipient == eve.recipient.reader } ?? false,
                       "eve accepted as a reader")
        XCTAssertEqual(try third.unacceptedReaders().map(\.reader.recipient), [eve.recipient.reader])
    }
}

extension MergeIntegrationTests {
    /// A clone that pinned no signers judges no trust change, so its merge
    /// must not vouch for one: signed, the merge would make every pinned
    /// clone trust an unsigned reader it carries in (the signer is trusted).
    func testAnUnpinnedCloneDoesNotSignAMergeThatCarriesAReaderIn() throws {
        try git("clone", "-q", root, directory + "/third", in: directory)
        let third = try Vault.open(containing: directory + "/third", configuration: VaultTestCase.configuration)
        third.commitSigner = CommitSigner(key: key)
        XCTAssertNil(try third.trusted().trust, "a stock clone pins nothing")
        func integrateOther() throws -> Integration {
            try git("fetch", "-q", other.root, "HEAD", in: third.root)
            return try third.integrate(try XCTUnwrap(ObjectID(hex: try git("rev-parse", "FETCH_HEAD", in: third.root))),
                                       source: "other/main", identities: [me])
        }
        // No trust file came in: the merge is signed as usual.
        try set(["app/a": "third's"], in: third)
        try set(["app/b": "theirs"], in: other)
        XCTAssertEqual(try integrateOther().kind, .merged)
        XCTAssertNotNil(try third.repo().commitSignature(try XCTUnwrap(third.repo().head())))
        let eve = X25519Identity.generate()
        try Data((try String(contentsOfFile: other.root + "/.recipients", encoding: .utf8) + "\(eve.recipient.encoded) # eve\n").utf8)
            .write(to: URL(fileURLWithPath: other.root + "/.recipients"))
        try git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "tidy", in: other.root)
        try set(["app/b": "third's"], in: third)
        XCTAssertEqual(try integrateOther().kind, .merged)
        XCTAssertNil(try third.repo().commitSignature(try XCTUnwrap(third.repo().head())),
                     "the merge carries an unjudged reader in: a signature would vouch for it")
    }
}

extension MergeIntegrationTests {
    /// A reader an earlier merge carried in unaccepted (held back) is in the
    /// work tree's `.recipients`; `resolve --stdin` must not seal the new
    /// value for them, any more than `set` would.
    func testResolveWithANewValueNeverSealsForAHeldBackReader() throws {
        let eve = X25519Identity.generate()
        try Data((try String(contentsOfFile: other.root + "/.recipients", encoding: .utf8) + "\(eve.recipient.encoded) # eve\n").utf8)
            .write(to: URL(fileURLWithPath: other.root + "/.recipients"))
        try git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "tidy", in: other.root)
        try set(["app/b": "ours"])
        let held = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(held.heldBack.map(\.value), ["app/b"])
        _ = try other.acceptReaders(in: nil, shown: try other.unacceptedReaders())
        try set(["app/a": "theirs"], in: other)
        _ = try vault.remove([id("app/a")])
        let conflicted = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(conflicted.conflicts.map(\.path), ["app/a.age"])
        XCTAssertThrowsError(try vault.resolve(id("app/a"), .value(bytes("third")), identities: [me])) { error in
            guard case VaultError.unacceptedReaders = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try value("app/a", identities: [eve]))
    }
}

extension MergeIntegrationTests {
    /// The other side deleted a sub-scope's `.recipients` (a signed commit)
    /// and re-sealed its secrets for the readers above; ours changed one of
    /// them, still sealed for the sub-scope's readers. The merge seals it
    /// for the readers above too, and names it exposed: verify passes.
    func testASubScopeDeletedOnTheOtherSideReSealsOurChangeForTheScopeAbove() throws {
        let bob = X25519Identity.generate()
        var plan = try vault.planAddReader(named(bob, "bob"), to: [try Scope("app")])
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        try git("pull", "-q", "--ff-only", root, "HEAD", in: other.root)
        let repo = try other.repo()
        let head = try XCTUnwrap(try repo.head())
        let signer = CommitSigner(key: key)
        let deletion = try repo.createCommit(parent: head, changes: [.delete(path: "app/.recipients")], message: "app joins the root scope",
                                             author: Signature(name: "me", email: "me@example.com"), sign: { try signer.sign($0) })
        try repo.advanceHead(from: head, to: deletion, message: "test: delete a scope")
        try git("reset", "-q", "--hard", "HEAD", in: other.root)
        var reseal = try other.planReseal()
        reseal.confirm()
        _ = try other.apply(reseal, identities: [me])
        XCTAssertThrowsError(try value("app/b", in: other, identities: [bob]), "the other side re-keyed app/b for the root's readers")
        try set(["app/a": "ours, for app's readers"])

        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .merged)
        XCTAssertEqual(result.exposed.map(\.value), ["app/a"])
        XCTAssertEqual(try value("app/a"), "ours, for app's readers")
        XCTAssertThrowsError(try value("app/a", identities: [bob]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/app/.recipients"))
        XCTAssertEqual(try vault.verify(identities: [me]).drift, [])
    }
}

extension MergeIntegrationTests {
    /// A pushed root tree naming `.signers` twice — first a file adding the
    /// pusher's key, then the file as it was (git reads the first; a
    /// comparison pairing names could pair the second and see no change):
    /// the commit is held, and no write rewrites that tree, so no signed
    /// commit of ours can carry the first file in as a trusted change.
    func testATreeNamingATrustFileTwiceIsHeldAndNeverRewritten() throws {
        let dir = other.root
        let intruder = SSHSigningKey.generate()
        let evil = try String(contentsOfFile: dir + "/.signers", encoding: .utf8) + "mallory \(intruder.publicKey.authorizedKey)\n"
        try evil.write(toFile: directory + "/evil-signers", atomically: true, encoding: .utf8)
        let evilBlob = try git("hash-object", "-w", directory + "/evil-signers", in: dir)
        var top: [(String, String, String)] = []
        for line in try git("ls-tree", "HEAD", in: dir).split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 1)
            let meta = fields[0].split(separator: " ")
            let entry = (meta[0] == "040000" ? "40000" : String(meta[0]), String(fields[1]), String(meta[2]))
            if entry.1 == ".signers" { top.append((entry.0, ".signers", evilBlob)) }
            top.append(entry)
        }
        let tree = try handMadeTree(top, in: dir)
        let commit = try git("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", tree, "-p", "HEAD", "-m", "two .signers", in: dir)
        try git("update-ref", "HEAD", commit, in: dir)
        XCTAssertEqual(try git("cat-file", "-p", "\(commit):.signers", in: dir), evil.trimmingCharacters(in: .newlines), "git reads the first")

        let result = try vault.integrate(try fetchOther(), source: "other/main", identities: [me])
        XCTAssertEqual(result.kind, .fastForward)
        XCTAssertEqual(try git("rev-parse", "HEAD", in: root), commit)
        XCTAssertFalse(try vault.trustStatus().held.isEmpty, "the commit naming .signers twice is held")
        let head = try git("rev-parse", "HEAD", in: root)
        XCTAssertThrowsError(try set(["app/a": "after"]), "a write would rewrite the root tree naming .signers twice")
        XCTAssertEqual(try git("rev-parse", "HEAD", in: root), head)
        XCTAssertFalse(try git("log", "--format=%B", in: root).contains("mallory"))
        XCTAssertFalse(try vault.trustStatus().signers.contains { $0.name == "mallory" })
    }
}
