import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer sync` interrupted: SIGKILLed anywhere in fetch, merge, landing
/// or push; a push the remote turns down; a remote that cannot be reached.
/// The next sync must finish the job, and no acknowledged `set` is lost.
final class SyncCrashTests: SyncTestCase {
    /// `coffer sync` in `who`'s clone, started without waiting.
    private func startSync(_ who: String, tag: String) throws -> KillableProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["COFFER_TEST_SCRYPT_WORK_FACTOR"] = CLITestCase.testWorkFactor
        environment["NO_COLOR"] = "1"
        for (k, v) in vaultEnvironment(who == "bob" ? bobEnv : [:]) { environment[k] = v }
        return try KillableProcess(executable: coffer, arguments: ["sync", "-o", "json"], directory: URL(fileURLWithPath: path("")),
                                   environment: environment, stdinPath: "/dev/null",
                                   outPath: path(".io/kill-\(tag).out"), errPath: path(".io/kill-\(tag).err"))
    }

    private func set(_ who: String, _ id: String, _ value: String, into model: inout [String: String]) throws {
        if who == "bob" { try bob(["set", id, "--stdin"], stdin: value) } else { try alice(["set", id, "--stdin"], stdin: value) }
        model[id] = value
    }

    /// Each trial: both clones diverge (an id each; every third trial also
    /// one id both set to the same value), one side syncs, the other's sync
    /// is SIGKILLed after a random delay within a measured sync's duration.
    /// Then it syncs again (exit 0), the first side syncs, and both clones
    /// verify, pass fsck, are clean and hold every acknowledged value.
    func testKillNineDuringSyncLosesNoAcknowledgedWrite() throws {
        try setUpTeam()
        let trials = Int(ProcessInfo.processInfo.environment["COFFER_SYNC_CRASH_TRIALS"] ?? "") ?? 20
        var generator = SystemRandomNumberGenerator()
        var model: [String: String] = [:]
        for (who, id) in [("alice", "seed/a"), ("bob", "seed/b")] { try set(who, id, value(id), into: &model) }
        try syncBob()
        // A full sync that merges and pushes, timed, to spread the kills over.
        let timed = try startSync("alice", tag: "timed")
        let outcome = try timed.wait()
        XCTAssertEqual(outcome.exitStatus, 0, outcome.stderrText)
        try syncBob()
        let duration = max(outcome.seconds, 0.02)

        var killedMidway = 0
        for trial in 0..<trials {
            let victim = trial % 2 == 0 ? "alice" : "bob", other = victim == "alice" ? "bob" : "alice"
            try set("alice", "t\(trial)/alice", value("t\(trial)-alice"), into: &model)
            try set("bob", "t\(trial)/bob", value("t\(trial)-bob"), into: &model)
            if trial % 3 == 0 {
                let same = value("t\(trial)-same")
                try set("alice", "t\(trial)/same", same, into: &model)
                try set("bob", "t\(trial)/same", same, into: &model)
            }
            if other == "bob" { try syncBob() } else { try syncAlice() }
            let delay = Double.random(in: 0...duration, using: &generator)
            let process = try startSync(victim, tag: String(trial))
            usleep(useconds_t(delay * 1_000_000))
            let wasRunning = process.process.isRunning
            process.kill9()
            let killed = try process.wait()
            if wasRunning && killed.signal == SIGKILL { killedMidway += 1 }
            XCTAssertTrue(killed.signal == SIGKILL || killed.exitStatus == 0, "trial \(trial): \(killed.stderrText)")
            let label = "trial \(trial) (\(victim) killed after \(Int(delay * 1000)) ms)"

            // The next sync must finish what the killed one started.
            let again = try victim == "bob" ? bob(["sync", "-o", "json"], status: nil) : alice(["sync", "-o", "json"], status: nil)
            XCTAssertEqual(again.status, 0, "\(label): the next sync failed: \(again.stderrText)")
            if again.status != 0 { break }
            try syncAll()
            for who in ["alice", "bob"] {
                XCTAssertEqual(try values(in: who), model, "\(label): \(who)'s values")
            }
            try assertBothHealthy()
        }
        XCTAssertGreaterThanOrEqual(killedMidway, trials / 4,
                                    "only \(killedMidway) of \(trials) kills hit a running sync (a sync takes \(Int(duration * 1000)) ms)")
    }

    // MARK: the remote moves on, refuses, or goes away

    private var server: Process?

    override func tearDownWithError() throws {
        stopServer()
        try super.tearDownWithError()
    }

    /// Serves the test directory over smart HTTP (git_http.py, stock `git
    /// http-backend`), so the remote's hooks run on a push; returns the remote's URL.
    private func serveOverHTTP(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let python = try requireTool("python3", file: file, line: line)
        _ = try requireTool("git", file: file, line: line)
        let portFile = path(".io/http-port")
        unlink(portFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [URL(fileURLWithPath: Tools.ptyHelper).deletingLastPathComponent().appendingPathComponent("git_http.py").path,
                             path(""), portFile]
        process.environment = vaultEnvironment()
        process.standardInput = FileHandle.nullDevice
        // http-backend reports the killed receive-pack the drop test causes.
        process.standardError = FileHandle.nullDevice
        try process.run()
        server = process
        for _ in 0..<200 where !fileExists(portFile) { usleep(20_000) }
        let port = try String(contentsOfFile: portFile, encoding: .utf8)
        return "http://127.0.0.1:\(port)/remote.git"
    }

    private func stopServer() {
        guard let server else { return }
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
        self.server = nil
    }

    private func hook(_ name: String, _ script: String) throws {
        let file = remote + "/hooks/" + name
        try ("#!/bin/sh\n" + script).write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(file, 0o755), 0)
    }

    /// alice and bob each set one id; returns the model of what both acknowledged.
    private func diverge(_ tag: String) throws -> [String: String] {
        var model = try values(in: "alice")
        try set("alice", "\(tag)/alice", value("\(tag)-alice"), into: &model)
        try set("bob", "\(tag)/bob", value("\(tag)-bob"), into: &model)
        return model
    }

    /// A true race: alice fetched, then bob's commit lands on the remote
    /// branch before her push (an `update` hook moves the branch to it the
    /// first time), so her push is turned down; the same sync fetches,
    /// merges and pushes again.
    func testAPushThatLostARaceIsFetchedMergedAndSentAgain() throws {
        try setUpTeam()
        try gitOK(["remote", "set-url", "origin", try serveOverHTTP()])
        var model = try values(in: "alice")
        try set("bob", "race/bob", value("race-bob"), into: &model)
        // Parked where a fetch does not look, until the hook lets it in.
        try gitOK(["push", "-q", "origin", "HEAD:refs/pending/bob"], in: bobDir)
        let bobsCommit = try head(in: bobDir)
        try hook("update", """
            if [ ! -e race-done ]; then
              touch race-done
              git update-ref "$1" refs/pending/bob "$2" || exit 1
            fi
            exit 0
            """)
        try set("alice", "race/alice", value("race-alice"), into: &model)
        let report = try syncAlice()
        XCTAssertTrue(fileExists(remote + "/race-done"), "the hook never ran: the push did not go through receive-pack")
        XCTAssertEqual(report["result"] as? String, "merged", "\(report)")
        XCTAssertEqual(report["received"] as? [String], ["race/bob"])
        XCTAssertEqual(report["pushed"] as? String, try head(in: aliceDir))
        XCTAssertEqual(try remoteTip(), try head(in: aliceDir))
        XCTAssertTrue(try parents(in: aliceDir).contains(bobsCommit), "bob's commit is not merged")
        try syncBob()
        for who in ["alice", "bob"] { XCTAssertEqual(try values(in: who), model, who) }
        try assertBothHealthy()
    }

    /// A remote that declines every push: a clear error naming the refusal,
    /// nothing sent, the vault intact; once it accepts, the next sync sends.
    func testAPushTheRemoteDeclinesIsAClearErrorAndTheNextSyncSends() throws {
        try setUpTeam()
        try gitOK(["remote", "set-url", "origin", try serveOverHTTP()])
        try hook("pre-receive", "echo attempt >> attempts\necho 'frozen for maintenance' >&2\nexit 1\n")
        let model = try diverge("declined")
        try syncBob()  // over the plain path, where no hook runs
        let before = try remoteTip()
        let refused = try alice(["sync"], status: 1)
        XCTAssertTrue(refused.stderrText.hasPrefix("coffer: error: "), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("rejected") && refused.stderrText.contains("refs/heads/"), refused.stderrText)
        XCTAssertEqual(try remoteTip(), before, "a declined push moved the remote")
        let attempts = try String(contentsOfFile: remote + "/attempts", encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(attempts, 1, "a push refused while the remote stood still is not tried again")
        try alice(["verify"])
        unlink(remote + "/hooks/pre-receive")
        let sent = try syncAlice()
        XCTAssertEqual(sent["pushed"] as? String, try remoteTip())
        try syncBob()
        for who in ["alice", "bob"] { XCTAssertEqual(try values(in: who), model, who) }
        try assertBothHealthy()
    }

    /// A remote that is gone (moved away, or a server that stopped): a clear
    /// error and nothing changed in the clone; back again, the sync completes.
    func testAnUnreachableRemoteChangesNothingAndTheNextSyncCompletes() throws {
        try setUpTeam()
        let model = try diverge("gone")
        try syncBob()
        let moved = path("remote.moved")
        XCTAssertEqual(rename(remote, moved), 0)
        var before = snapshot(aliceDir)
        let noPath = try alice(["sync"], status: 1)
        XCTAssertTrue(noPath.stderrText.hasPrefix("coffer: error: "), noPath.stderrText)
        assertSameSnapshot(before, snapshot(aliceDir), "a sync with the remote moved away")
        XCTAssertEqual(rename(moved, remote), 0)

        let url = try serveOverHTTP()
        try gitOK(["remote", "set-url", "origin", url])
        stopServer()
        before = snapshot(aliceDir)
        let noServer = try alice(["sync"], status: 1)
        XCTAssertTrue(noServer.stderrText.hasPrefix("coffer: error: "), noServer.stderrText)
        XCTAssertEqual(noServer.stderrText.split(separator: "\n").filter { $0.hasPrefix("coffer: error:") }.count, 1, noServer.stderrText)
        assertSameSnapshot(before, snapshot(aliceDir), "a sync with the server down")

        try gitOK(["remote", "set-url", "origin", try serveOverHTTP()])
        try syncAlice()
        try syncAll()
        for who in ["alice", "bob"] { XCTAssertEqual(try values(in: who), model, who) }
        try assertBothHealthy()
    }

    /// The connection drops in the middle of the push (the remote's
    /// receive-pack is killed): a clear error, the local merge intact and
    /// clean, nothing on the remote; the next sync sends it.
    func testAConnectionDroppedDuringThePushIsFinishedByTheNextSync() throws {
        try setUpTeam()
        let model = try diverge("dropped")
        try syncBob()
        try gitOK(["remote", "set-url", "origin", try serveOverHTTP()])
        try hook("pre-receive", "kill -9 $PPID\nsleep 1\nexit 1\n")
        let before = try remoteTip()
        let dropped = try alice(["sync"], status: 1)
        XCTAssertTrue(dropped.stderrText.hasPrefix("coffer: error: "), dropped.stderrText)
        XCTAssertEqual(try remoteTip(), before, "the dropped push moved the remote")
        try alice(["verify"])
        XCTAssertEqual(try values(in: "alice"), model)
        unlink(remote + "/hooks/pre-receive")
        let sent = try syncAlice()
        XCTAssertEqual(sent["pushed"] as? String, try remoteTip())
        try syncBob()
        XCTAssertEqual(try values(in: "bob"), model)
        try assertBothHealthy()
    }

    /// libgit2 writes a tracking ref through `REF.lock`; a kill between the
    /// lock and the rename leaves it, and every later fetch failed on it. The
    /// transfer record proves such a lock is coffer's own (empty, or holding
    /// the recorded id): the next sync removes it and completes. A lock the
    /// record does not account for is another process's: it stays, and the
    /// error names it.
    func testARefLockAKilledTransferLeftIsRemovedAndAForeignOneIsNot() throws {
        try setUpTeam()
        let model = try diverge("locks")
        try syncBob()
        let branch = try currentBranch(in: aliceDir)
        let tracking = "refs/remotes/origin/" + branch
        let lock = aliceDir + "/.git/" + tracking + ".lock"
        let recorded = try remoteTip()
        for held in ["", recorded + "\n"] {
            try Data("\(recorded) \(tracking)\n".utf8).write(to: URL(fileURLWithPath: aliceDir + "/.git/coffer/transfer"))
            try Data(held.utf8).write(to: URL(fileURLWithPath: lock))
            try syncAlice()
            XCTAssertFalse(FileManager.default.fileExists(atPath: lock), "a lock holding \(held.debugDescription) stayed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: aliceDir + "/.git/coffer/transfer"))
        }
        XCTAssertEqual(try values(in: "alice"), model)

        // A remote on this machine: libgit2 pushed from this process, so the
        // remote's branch lock was coffer's too.
        try alice(["set", "locks/pushed", "--stdin"], stdin: value("locks-pushed"))
        let pushing = try head(in: aliceDir)
        let remoteLock = remote + "/refs/heads/" + branch + ".lock"
        try Data("\(pushing) \(remote)/refs/heads/\(branch)\n".utf8).write(to: URL(fileURLWithPath: aliceDir + "/.git/coffer/transfer"))
        try Data((pushing + "\n").utf8).write(to: URL(fileURLWithPath: remoteLock))
        let sent = try syncAlice()
        XCTAssertFalse(FileManager.default.fileExists(atPath: remoteLock), "the remote's branch lock stayed")
        XCTAssertEqual(sent["pushed"] as? String, try remoteTip())
        XCTAssertEqual(try remoteTip(), pushing)

        try alice(["set", "locks/after", "--stdin"], stdin: value("locks-after"))
        try Data("\(recorded) \(tracking)\n".utf8).write(to: URL(fileURLWithPath: aliceDir + "/.git/coffer/transfer"))
        try Data("0000000000000000000000000000000000000000\n".utf8).write(to: URL(fileURLWithPath: lock))
        var before = snapshot(aliceDir)
        before[".git/coffer/transfer"] = nil  // read and dropped: the lock it names is not coffer's
        let refused = try alice(["sync"], status: 1)
        XCTAssertTrue(refused.stderrText.contains(tracking + ".lock"), refused.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: lock), "another process's lock was removed")
        assertSameSnapshot(before, snapshot(aliceDir), "a sync stopped by another process's lock")
        XCTAssertEqual(unlink(lock), 0)
        try syncAlice()
        try syncBob()
        try assertBothHealthy()
    }
}
