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
}
