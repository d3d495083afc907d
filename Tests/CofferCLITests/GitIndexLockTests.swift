import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// An acknowledged write stays written while other git processes use the
// vault: coffer takes `.git/index.lock` before its commit point and writes
// the index under it, or fails before committing; recovery after a crash
// removes only the lock files it can prove are its own.
final class GitIndexLockTests: AtomicityTestCase {
    private let token = "0123456789abcdef0123456789abcdef"
    private var indexLock: String { vault + "/.git/index.lock" }

    /// A vault holding a and b; returns their values.
    private func seededVault(_ name: String) throws -> [String: String] {
        try makeVault(name)
        let values = ["a": "a-old", "b": "b-old"]
        try mustCoffer("set", values.map { "\($0.key)=\($0.value)" })
        return values
    }

    /// Another process creating `.git/index.lock` the way git does
    /// (create-exclusive: `set -C`) and holding it for `seconds`, then
    /// removing it (unless `removing` is false: then it is `sleep` itself,
    /// and killing it leaves the lock); returns once the lock exists.
    private func holdIndexLock(for seconds: Double, removing: Bool = true) throws -> KillableProcess {
        let script = "set -C; : > \"$1\" && " + (removing ? "sleep \(seconds) && rm -f \"$1\"" : "exec sleep \(seconds)")
        let holder = try start("/bin/sh", ["-c", script, "sh", indexLock])
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: indexLock) {
            guard Date() < deadline else { throw TestSetupError("the holder never took \(indexLock)") }
            usleep(1_000)
        }
        return holder
    }

    private func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A stock `git commit` of another file, as the user would make next.
    private func commitAnotherFile() throws {
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: vault + "/notes.txt"))
        try mustGit(["add", "notes.txt"])
        try mustGit(["-c", "user.name=Someone", "-c", "user.email=someone@example.com", "commit", "-q", "-m", "notes"])
    }

    func testASetWhileGitHoldsTheIndexLockIsNotUndoneByTheNextGitCommit() throws {
        _ = try seededVault("vault")
        let before = try revParse("HEAD")
        let holder = try holdIndexLock(for: 0.5)
        let set = try runCoffer("set", ["a=a-new"])
        let held = try holder.wait()
        XCTAssertTrue(held.succeeded, held.summary)
        if set.succeeded {
            XCTAssertEqual(set.stderrText, "set a\n", set.summary)
            XCTAssertEqual(try mustGit(["ls-files", "-s", "a.age"]).split(separator: " ")[1],
                           Substring(try revParse("HEAD:a.age")), "the index holds the committed blob")
            XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "")
        } else {
            // Failing is allowed, but only before the commit point.
            XCTAssertEqual(try revParse("HEAD"), before, set.summary)
        }
        try commitAnotherFile()
        let get = try runCoffer("get", ["--at", "HEAD", "a", "--reveal"])
        XCTAssertEqual(get.stdoutText, set.succeeded ? "a-new" : "a-old", get.summary)
        XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "")
        XCTAssertEqual(leftovers(), [])
        try mustGit(["fsck", "--full", "--no-progress"])
    }

    func testASetFailsBeforeCommittingWhenGitHoldsTheIndexLockPastTheWait() throws {
        _ = try seededVault("vault")
        let before = try revParse("HEAD")
        let holder = try holdIndexLock(for: 30, removing: false)
        defer { holder.kill9() }
        let set = try runCoffer("set", ["a=a-new"], environment: ["COFFER_LOCK_TIMEOUT": "0.3"])
        XCTAssertEqual(set.exitStatus, 1, set.summary)
        XCTAssertEqual(set.stderrText, """
            coffer: error: \(indexLock) is held by another git process (waited 1 s); nothing was written
            coffer: hint: wait for the other git process (a git command, an editor's git integration) to finish and try again; \
            if none is running, the lock is stale: remove \(indexLock)

            """)
        XCTAssertEqual(try revParse("HEAD"), before, "nothing committed")
        XCTAssertEqual(contents(indexLock), "", "the other process's lock stays")
        XCTAssertFalse(journalExists)

        holder.kill9()
        _ = try holder.wait()
        unlink(indexLock)
        XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "")
        XCTAssertEqual(try runCoffer("get", ["a", "--reveal"]).stdoutText, "a-old")
        XCTAssertEqual(leftovers(), [])
    }

    /// A write killed right after its commit point (HEAD new, work tree and
    /// index old, journal present) while another process holds the index
    /// lock — taken before the journal was written, or after. Recovery
    /// finishes the work tree, leaves the lock and says so; the vault takes
    /// no new write until the index is done; once the lock is gone, the next
    /// command finishes the index.
    func testRecoveryLeavesAForeignIndexLockOlderOrNewerThanTheJournal() throws {
        for order in ["older", "newer"] {
            var state = try seededVault("vault-\(order)")
            let before = try snapshot()
            try mustCoffer("set", ["a=a-new"])
            state["a"] = "a-new"
            let new = try revParse("HEAD")
            try rewindWorkTree(to: before, old: before.head, new: new)
            try restoreIndex(before)
            let journal = vault + "/.git/coffer-journal"
            let foreign = Data("DIRC\0\0\0\u{2}another git writing the index".utf8)
            let hourAgo = Date().addingTimeInterval(-3600)
            if order == "older" {
                try foreign.write(to: URL(fileURLWithPath: indexLock))
                try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: indexLock)
                try writeJournal(old: before.head, new: new, indexLockToken: token)
            } else {
                try writeJournal(old: before.head, new: new, indexLockToken: token)
                try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: journal)
                try foreign.write(to: URL(fileURLWithPath: indexLock))
            }

            let get = try runCoffer("get", ["a", "--reveal"], environment: ["COFFER_LOCK_TIMEOUT": "0.2"])
            XCTAssertEqual(get.stdoutText, "a-new", "\(order): \(get.summary)")
            XCTAssertEqual(get.stderrText, """
                coffer: warning: the last coffer write is committed but not yet in the git index: \(indexLock) is held by another process
                coffer: hint: if no git process is running, remove \(indexLock) and run any coffer command, which updates the index; \
                do not `git commit` before that

                """, order)
            XCTAssertEqual(FileManager.default.contents(atPath: indexLock), foreign, "\(order): the foreign lock stays")
            XCTAssertTrue(journalExists, "\(order): the index is still to do")

            let set = try runCoffer("set", ["c=c-new"], environment: ["COFFER_LOCK_TIMEOUT": "0.2"])
            XCTAssertEqual(set.exitStatus, 1, "\(order): \(set.summary)")
            XCTAssertTrue(set.stderrText.contains("coffer: error: \(indexLock) is held by another git process"), "\(order): \(set.summary)")
            XCTAssertEqual(try revParse("HEAD"), new, "\(order): no commit over a pending index")
            XCTAssertEqual(FileManager.default.contents(atPath: indexLock), foreign, "\(order): the foreign lock stays")

            // The other process is done (or the user removed its stale lock):
            // the next command, even a read, finishes the index.
            unlink(indexLock)
            let list = try runCoffer("list", [])
            XCTAssertTrue(list.succeeded && list.stderrText.isEmpty, "\(order): \(list.summary)")
            try assertRepaired(state, "\(order) foreign index lock, once it is gone")
        }
    }

    /// The state a writer killed just before its commit point leaves: HEAD,
    /// work tree and index as before, and a journal naming a new commit and
    /// the index lock's token. Returns the state before and the branch's ref.
    private func killedBeforeTheCommitPoint() throws -> (before: Snapshot, branch: String, new: String) {
        let before = try snapshot()
        try mustCoffer("set", ["a=never-committed"])
        let new = try revParse("HEAD")
        let branch = try mustGit(["symbolic-ref", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try mustGit(["update-ref", branch, before.head, new])
        try rewindWorkTree(to: before, old: before.head, new: new)
        try restoreIndex(before)
        try writeJournal(old: before.head, new: new, indexLockToken: token)
        return (before, branch, new)
    }

    /// Killed before the commit point (HEAD old, journal present): the index
    /// lock holding the journal's token is removed without a word; any other
    /// is left and reported.
    func testRecoveryRemovesOnlyTheIndexLockHoldingTheJournalsToken() throws {
        for owner in ["coffer", "another process"] {
            let state = try seededVault(owner == "coffer" ? "vault-ours" : "vault-theirs")
            _ = try killedBeforeTheCommitPoint()
            let lock = owner == "coffer" ? token + "\n" : token
            try Data(lock.utf8).write(to: URL(fileURLWithPath: indexLock))

            let list = try runCoffer("list", [])
            XCTAssertTrue(list.succeeded, list.summary)
            XCTAssertFalse(journalExists, owner)
            if owner == "coffer" {
                XCTAssertEqual(list.stderrText, "", owner)
                XCTAssertNil(contents(indexLock), "coffer's own lock is removed")
            } else {
                XCTAssertEqual(list.stderrText, """
                    coffer: warning: \(indexLock) was left by another process, not by coffer; it stays
                    coffer: hint: if no git process is running, it is stale: remove \(indexLock)

                    """)
                XCTAssertEqual(contents(indexLock), lock, "a lock that only resembles coffer's stays")
                unlink(indexLock)
            }
            try assertRepaired(state, "\(owner)'s index lock before the commit point")
        }
    }

    /// The branch's lock is coffer's only if it holds the journal's new
    /// commit id as libgit2 writes it; a lock holding anything else stays.
    func testRecoveryLeavesABranchLockThatDoesNotHoldTheNewCommit() throws {
        let state = try seededVault("vault")
        let (before, branch, _) = try killedBeforeTheCommitPoint()
        let branchLock = vault + "/.git/" + branch + ".lock"
        try Data((before.head + "\n").utf8).write(to: URL(fileURLWithPath: branchLock))

        let list = try runCoffer("list", [])
        XCTAssertTrue(list.succeeded, list.summary)
        XCTAssertEqual(list.stderrText, """
            coffer: warning: \(branchLock) was left by another process, not by coffer; it stays
            coffer: hint: if no git process is running, it is stale: remove \(branchLock)

            """)
        XCTAssertEqual(contents(branchLock), before.head + "\n")
        unlink(branchLock)
        try assertRepaired(state, "after a foreign branch lock")
    }

    /// coffer's branch lock appears already holding the new id, so an
    /// empty one is never coffer's — even when the branch's reflog ends with
    /// the journal's move (which an older libgit2-made lock used as proof):
    /// it stays, named, and the next write waits for it.
    func testRecoveryLeavesAnEmptyBranchLock() throws {
        let state = try seededVault("vault-empty-lock")
        let (before, branch, new) = try killedBeforeTheCommitPoint()
        let branchLock = vault + "/.git/" + branch + ".lock"
        try Data().write(to: URL(fileURLWithPath: branchLock))
        let log = vault + "/.git/logs/" + branch
        let line = "\(before.head) \(new) coffer <coffer@localhost> 1795852315 +0000\tcoffer: set\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try handle.close()
        let list = try runCoffer("list", [])
        XCTAssertTrue(list.succeeded, list.summary)
        XCTAssertTrue(list.stderrText.contains("was left by another process"), list.stderrText)
        XCTAssertEqual(contents(branchLock), "", "an empty lock stays")
        unlink(branchLock)
        try assertRepaired(state, "an empty branch lock")
    }
}
