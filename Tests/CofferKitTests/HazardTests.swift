import Foundation
import XCTest
import Age
import GitStore
import Posix
@testable import CofferKit

/// What a push or the user's own git can leave in the way: an unfinished
/// merge, a tree nested to exhaust the stack, a scope with more readers
/// than a file can carry, a git holding the index lock.
final class HazardTests: VaultTestCase {
    func testNothingIsWrittenDuringAConflictedMerge() throws {
        try set(["a": "1"])
        let branch = try git("branch", "--show-current")
        try write("notes.txt", "theirs\n")
        try git("checkout", "-q", "-b", "other")
        try commitByHand(["notes.txt"])
        try git("checkout", "-q", branch)
        try write("notes.txt", "ours\n")
        try commitByHand(["notes.txt"])
        XCTAssertNotEqual(try run("git", ["merge", "-q", "other"], expectSuccess: false).status, 0, "the merge conflicts")
        let head = try git("rev-parse", "HEAD")

        var plan = try vault.planSet([(id("a"), SecureBytes(copying: Array("2".utf8)))], me: mine)
        plan.confirm()
        assertThrows(.gitOperationInProgress("a merge")) { try vault.apply(plan, identities: [me]) }
        XCTAssertEqual(try git("rev-parse", "HEAD"), head, "no commit")
        XCTAssertEqual(try run("git", ["status", "--porcelain"]).status, 0, "git still reads its index")
        let status = try git("status", "--porcelain")
        XCTAssertTrue(status.hasPrefix("AA notes.txt") || status.hasPrefix("UU notes.txt"), "the conflict is still there: \(status)")

        // Conflict stages without MERGE_HEAD (as a stash pop leaves them) are refused too.
        try FileManager.default.removeItem(atPath: root + "/.git/MERGE_HEAD")
        assertThrows(.gitOperationInProgress("a merge with conflicts")) { try vault.apply(plan, identities: [me]) }
    }

    func testATreeNestedDeeperThanTheLimitIsRefused() throws {
        try set(["a": "1"])
        // 300 nested trees, built with git's plumbing (as a push could carry them).
        let script = "t=$(git mktree </dev/null); for i in $(seq 300); do t=$(printf '040000 tree %s\\td\\n' $t | git mktree); done; echo $t"
        let tree = try run("sh", ["-c", script], in: root).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let head = try git("rev-parse", "HEAD")
        let commit = try run("sh", ["-c", "git commit-tree \(tree) -p \(head) -m deep"], in: root).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git("update-ref", "HEAD", commit)
        XCTAssertThrowsError(try vault.verify(identities: [me])) { error in
            guard case GitError.treeTooDeep(_, 256)? = error as? GitError else { return XCTFail("\(error)") }
        }
        // The work tree side: directories that deep are passed over, not a crash.
        let deep = root + "/" + Array(repeating: "w", count: 300).joined(separator: "/")
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        XCTAssertEqual(vault.list(), [id("a")])
        _ = vault.scopes()
    }

    func testAScopeOverTheReaderLimitIsRefused() throws {
        let many = (0..<1_000).map { _ in named(X25519Identity.generate(), nil) }
        try commitRecipients("crowd", [named(me, "me")] + many.dropLast())
        let extra = named(X25519Identity.generate(), "one-more")
        assertThrows(.tooManyReaders(scope: try Scope("crowd"), count: 1_001, limit: 1_000)) {
            try vault.planAddReader(extra, to: [try Scope("crowd")])
        }
        // A pushed .recipients over the limit: nothing is sealed for it.
        try commitRecipients("crowd", [named(me, "me")] + many)
        var plan = try vault.planSet([(id("crowd/x"), SecureBytes(copying: [1]))], me: mine)
        plan.confirm()
        assertThrows(.tooManyReaders(scope: try Scope("crowd"), count: 1_001, limit: 1_000)) { try vault.apply(plan, identities: [me]) }
    }

    /// git holding `.git/index.lock` (the fixture waits 0.2 s): the write
    /// fails before its commit point, naming the lock, and leaves it.
    func testAWriteFailsBeforeCommittingWhileGitHoldsTheIndexLock() throws {
        try set(["a": "1"])
        let head = try git("rev-parse", "HEAD")
        let lock = root + "/.git/index.lock"
        try Data("git's".utf8).write(to: URL(fileURLWithPath: lock))
        var plan = try vault.planSet([(id("a"), bytes("2"))], me: mine)
        plan.confirm()
        assertThrows(.gitIndexLocked(path: lock, waitedSeconds: 1)) { try vault.apply(plan, identities: [me]) }
        XCTAssertEqual(try git("rev-parse", "HEAD"), head, "no commit")
        XCTAssertEqual(try Files.read(path: lock), Array("git's".utf8))
        XCTAssertFalse(Journal.exists(gitDirectory: vault.gitDirectory))

        unlink(lock)
        _ = try vault.apply(plan, identities: [me])
        XCTAssertEqual(try git("ls-files", "-s", "a.age").split(separator: " ")[1], Substring(try git("rev-parse", "HEAD:a.age")))
    }

    /// A write killed past its commit point while git held the index lock:
    /// opening the vault finishes the work tree, reports the lock, and keeps
    /// the journal; once the lock is gone, the next open finishes the index.
    func testOpeningReportsAForeignIndexLockAndFinishesTheIndexWhenItIsGone() throws {
        try set(["a": "1"])
        let oldIndex = try Files.read(path: vault.gitDirectory + "/index")
        let old = try XCTUnwrap(ObjectID(hex: try git("rev-parse", "HEAD")))
        try set(["a": "2"])
        let new = try XCTUnwrap(ObjectID(hex: try git("rev-parse", "HEAD")))
        let blob = try XCTUnwrap(ObjectID(hex: try git("rev-parse", "HEAD:a.age")))
        try Data(oldIndex).write(to: URL(fileURLWithPath: vault.gitDirectory + "/index"))
        try Journal(old: old, new: new, changes: [.write(path: "a.age", blob: blob)], indexLockToken: "abcd")
            .write(gitDirectory: vault.gitDirectory)
        let lock = root + "/.git/index.lock"
        try Data("abcd".utf8).write(to: URL(fileURLWithPath: lock))

        let opened = try Vault.open(containing: root, configuration: VaultTestCase.configuration)
        XCTAssertEqual(opened.notices, [.indexPending(lock: lock)])
        XCTAssertTrue(Journal.exists(gitDirectory: vault.gitDirectory))
        XCTAssertEqual(try Files.read(path: lock), Array("abcd".utf8), "not coffer's: it lacks the newline")
        XCTAssertEqual(try value("a", in: opened), "2")

        unlink(lock)
        let reopened = try Vault.open(containing: root, configuration: VaultTestCase.configuration)
        XCTAssertEqual(reopened.notices, [])
        XCTAssertFalse(Journal.exists(gitDirectory: vault.gitDirectory))
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    /// `Paths.obstacle`: the first thing on the way to a work-tree file that
    /// coffer must neither read nor write through, named by its path.
    func testObstaclesAreNamedWhereTheyStand() throws {
        try write("ok/a.age", "x")
        try write("file", "not a directory")
        try FileManager.default.createDirectory(atPath: path("dir.age"), withIntermediateDirectories: false)
        XCTAssertEqual(mkfifo(path("fifo.age"), 0o644), 0)
        XCTAssertEqual(symlink(directory, path("linked")), 0)
        XCTAssertEqual(symlink("/etc/passwd", path("ok/link.age")), 0)
        let expected: [(String, VaultError?)] = [
            ("ok/a.age", nil), ("ok/new.age", nil), ("new/dir/x.age", nil),
            ("file/x.age", .notADirectory(path: "file")), ("dir.age", .notARegularFile(path: "dir.age")),
            ("fifo.age", .notARegularFile(path: "fifo.age")), ("fifo.age/x.age", .notADirectory(path: "fifo.age")),
            ("linked/x.age", .symlinkInVault(path: "linked")), ("ok/link.age", .symlinkInVault(path: "ok/link.age")),
            ("ok/../../x.age", .unsafePath(path: "ok/../../x.age")), (".git/config", .unsafePath(path: ".git/config")),
            ("ok/.Git/hooks/x", .unsafePath(path: "ok/.Git/hooks/x")), ("ok//x.age", .unsafePath(path: "ok//x.age")),
            ("ok/a\nb.age", .unsafePath(path: "ok/a\nb.age")), (".gitattributes", nil), ("ok/.recipients", nil),
        ]
        for (relative, obstacle) in expected {
            XCTAssertEqual(Paths.obstacle(below: root, at: relative), obstacle, relative)
        }
    }

    /// Finishing an interrupted write leaves what stands in its way, writes
    /// the rest, drops the journal and records what it left.
    func testRecoveryLeavesWhatStandsInTheWayAndRecordsIt() throws {
        try set(["a": "1", "b/c": "1"])
        let old = try read("a.age")
        try set(["a": "2", "b/c": "2"])
        let head = try git("rev-parse", "HEAD")
        var journal = "old \(try git("rev-parse", "HEAD^"))\nnew \(head)\n"
        for path in ["a.age", "b/c.age"] { journal += "write \(try git("rev-parse", "HEAD:\(path)")) \(path)\n" }
        try write(".git/coffer-journal", journal)
        try write("a.age", old)
        try FileManager.default.removeItem(atPath: path("b"))
        try write("b", "in the way")

        let reopened = try Vault.open(containing: root, configuration: VaultTestCase.configuration)
        XCTAssertEqual(reopened.obstaclesLeft, [.notADirectory(path: "b")])
        XCTAssertEqual(try value("a", in: reopened), "2", "the rest of the write was finished")
        XCTAssertEqual(String(decoding: try read("b"), as: UTF8.self), "in the way", "left as it was")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path(".git/coffer-journal")))
        XCTAssertEqual(try git("rev-parse", "HEAD"), head)
        XCTAssertTrue(try reopened.verify(identities: [me]).drift.contains(.workTreeDiffers(id: id("b/c"))))
    }
}
