import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// SPEC 3 "Atomicity": concurrent coffer processes on one vault serialize
// (an flock on .git/coffer.lock, COFFER_LOCK_TIMEOUT seconds, default 10)
// and never lose an update.
final class ConcurrencyTests: AtomicityTestCase {
    /// One planned `coffer set`: a secret of the writer's own and a shared one.
    struct Write {
        let writer: Int
        let step: Int
        let ownID: String
        let ownValue: String
        let sharedID: String
        let sharedValue: String
    }

    /// 4 writers × 25 `coffer set`, started together; each set writes one id
    /// of its writer's own (5 ids, each rewritten 5 times) and one of 3 ids
    /// all writers share. A reader runs `coffer get` alongside. Afterwards
    /// the history holds exactly one commit per set with exactly its values,
    /// in each writer's order, and the vault holds the last write of each id.
    func testConcurrentSetsSerializeAndLoseNoUpdate() throws {
        let writers = 4, steps = 25, sharedCount = 3
        try makeVault()
        var baseline: [String: String] = [:]
        for s in 0..<sharedCount { baseline["shared/s\(s)"] = "base-\(s)-\(UUID().uuidString.prefix(8))" }
        try mustCoffer("set", baseline.map { "\($0.key)=\($0.value)" })
        let base = try revParse("HEAD")
        let baseCount = Int(try mustGit(["rev-list", "--count", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1

        // Every value unique, so no set is a no-op and each makes one commit.
        var plan: [[Write]] = []
        for w in 0..<writers {
            plan.append((0..<steps).map { i in
                Write(writer: w, step: i,
                      ownID: "w\(w)/k\(i % 5)", ownValue: "w\(w)-i\(i)-own-\(UUID().uuidString.prefix(8))",
                      sharedID: "shared/s\((i + w) % sharedCount)", sharedValue: "w\(w)-i\(i)-shared-\(UUID().uuidString.prefix(8))")
            })
        }
        let allWrites = plan.flatMap { $0 }
        var sharedValues: [String: Set<String>] = [:]
        for (id, value) in baseline { sharedValues[id, default: []].insert(value) }
        for write in allWrites { sharedValues[write.sharedID, default: []].insert(write.sharedValue) }

        let planned = plan, writtenShared = sharedValues
        let shared = SharedResults()
        let ready = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        let writersDone = DispatchGroup()
        let coffer = self.coffer!
        // The threads only call the harness's process helpers, which keep no shared state.
        nonisolated(unsafe) let this = self

        let clock = Date()
        for w in 0..<writers {
            ready.enter(); finished.enter(); writersDone.enter()
            Thread {
                defer { finished.leave(); writersDone.leave() }
                ready.leave()
                go.wait()
                for write in planned[w] {
                    do {
                        let outcome = try this.execute(coffer, this.cofferArguments(
                            "set", ["\(write.ownID)=\(write.ownValue)", "\(write.sharedID)=\(write.sharedValue)"]))
                        shared.locked { $0.results.append((write, outcome)) }
                    } catch {
                        shared.locked { $0.setupErrors.append("\(error)") }
                    }
                }
            }.start()
        }
        // A reader alongside: every `get` succeeds and shows a value that was written.
        ready.enter(); finished.enter()
        Thread {
            defer { finished.leave() }
            ready.leave()
            go.wait()
            while writersDone.wait(timeout: .now()) == .timedOut {
                do {
                    let get = try this.execute(coffer, this.cofferArguments("get", ["shared/s0", "--reveal"]))
                    let valid = get.succeeded && (writtenShared["shared/s0"] ?? []).contains(get.stdoutText)
                    shared.locked {
                        $0.reads += 1
                        if !valid { $0.readerProblems.append(get.summary + "; stdout: \(get.stdoutText)") }
                    }
                } catch {
                    shared.locked { $0.setupErrors.append("\(error)") }
                }
                usleep(20_000)
            }
        }.start()
        ready.wait()
        for _ in 0...writers { go.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 300), .success, "the writers did not finish")
        let elapsed = Date().timeIntervalSince(clock)

        let (outcomes, setupErrors, readerProblems, reads) = shared.locked { ($0.results, $0.setupErrors, $0.readerProblems, $0.reads) }
        XCTAssertEqual(setupErrors, [])
        XCTAssertEqual(readerProblems, [], "concurrent reads")
        XCTAssertEqual(outcomes.count, writers * steps)
        for (write, outcome) in outcomes {
            XCTAssertTrue(outcome.succeeded, "writer \(write.writer) step \(write.step): \(outcome.summary)")
            XCTAssertEqual(outcome.stderrText, "set \(write.ownID)\nset \(write.sharedID)\n", outcome.summary)
        }
        let slowest = outcomes.map(\.outcome.seconds).max() ?? 0

        // Exactly one new commit per set, in one line of history.
        let count = Int(try mustGit(["rev-list", "--count", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertEqual(count, baseCount + writers * steps, "commits: \(baseCount) before, \(writers * steps) sets")
        XCTAssertEqual(try mustGit(["rev-list", "--merges", "HEAD"]), "", "merge commits")

        // Each commit holds exactly one planned set's two values.
        let log = try mustGit(["log", "--reverse", "--format=>%H", "--raw", "--no-abbrev", "--no-renames", "\(base)..HEAD"])
        var commits: [(id: String, blobs: [(path: String, sha: String)])] = []
        for line in log.split(separator: "\n") {
            if line.hasPrefix(">") {
                commits.append((String(line.dropFirst()), []))
            } else if line.hasPrefix(":"), let tab = line.firstIndex(of: "\t"), !commits.isEmpty {
                let fields = line[..<tab].split(separator: " ")
                commits[commits.count - 1].blobs.append((String(line[line.index(after: tab)...]), String(fields[3])))
            }
        }
        let blobs = try catFileBatch(commits.flatMap { $0.blobs.map(\.sha) })
        let byOwnValue = Dictionary(uniqueKeysWithValues: allWrites.map { ($0.ownValue, $0) })
        var position: [String: Int] = [:]   // own value → index in history
        var lastShared: [String: String] = [:]
        var lastOwn: [String: String] = [:]
        for (n, commit) in commits.enumerated() {
            var values: [String: String] = [:]
            for (path, sha) in commit.blobs {
                guard let id = Self.secretID(ofPath: path), let bytes = blobs[sha] else {
                    XCTFail("commit \(commit.id) changes \(path)")
                    continue
                }
                switch unseal(bytes, as: id) {
                case .success(let value): values[id] = value
                case .failure(let error): XCTFail("commit \(commit.id): \(id) \(error)")
                }
            }
            guard let write = values.values.lazy.compactMap({ byOwnValue[$0] }).first else {
                XCTFail("commit \(commit.id) is no planned set: ids \(values.keys.sorted())")
                continue
            }
            XCTAssertEqual(values, [write.ownID: write.ownValue, write.sharedID: write.sharedValue],
                           "commit \(commit.id) holds writer \(write.writer) step \(write.step) and nothing else")
            XCTAssertNil(position[write.ownValue], "writer \(write.writer) step \(write.step) committed twice")
            position[write.ownValue] = n
            lastOwn[write.ownID] = write.ownValue
            lastShared[write.sharedID] = write.sharedValue
        }
        for write in allWrites where position[write.ownValue] == nil {
            XCTFail("writer \(write.writer) step \(write.step) is not in the history (lost update)")
        }
        // Each writer's sets ran one after another, so history keeps their order.
        for steps in plan {
            let order = steps.compactMap { position[$0.ownValue] }
            XCTAssertEqual(order, order.sorted(), "writer \(steps[0].writer)'s sets are out of order in history")
        }

        // The vault: each own id holds its writer's last write; each shared id
        // a written value, the one its newest commit holds.
        var expected = baseline
        for steps in plan { for write in steps { expected[write.ownID] = write.ownValue } }
        for (id, value) in lastShared { expected[id] = value }
        XCTAssertEqual(lastOwn, expected.filter { !$0.key.hasPrefix("shared/") }, "own ids: history's last writes")
        let listed = try listedValues()
        XCTAssertEqual(listed, expected, "coffer list --show-values")
        for (id, values) in sharedValues {
            XCTAssertTrue(values.contains(listed[id] ?? ""), "\(id) holds a value nobody wrote")
        }
        XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "", "git status")
        XCTAssertEqual(leftovers(), [], "left behind")
        let fsck = try runGit(["fsck", "--full", "--no-progress"])
        XCTAssertTrue(fsck.succeeded, fsck.summary)
        print("concurrency: \(writers) writers × \(steps) sets in \(String(format: "%.1f", elapsed)) s "
              + "(slowest set \(String(format: "%.2f", slowest)) s), \(commits.count) new commits, \(reads) concurrent reads")
    }

    /// What the writer and reader threads report, behind a lock.
    final class SharedResults: @unchecked Sendable {
        var results: [(write: Write, outcome: AtomicityOutcome)] = []
        var readerProblems: [String] = []
        var reads = 0
        var setupErrors: [String] = []
        private let lock = NSLock()

        func locked<R>(_ body: (SharedResults) -> R) -> R {
            lock.lock()
            defer { lock.unlock() }
            return body(self)
        }
    }

    /// Holds .git/coffer.lock (an exclusive flock, as a running coffer does).
    private func holdLock() throws -> Int32 {
        let fd = open(vault + "/.git/coffer.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TestSetupError("cannot open the lock file: errno \(errno)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TestSetupError("cannot take the lock: errno \(errno)")
        }
        return fd
    }

    /// While another process holds the lock, `coffer set` with
    /// COFFER_LOCK_TIMEOUT=1 gives up after about a second with an error
    /// naming the lock and changes nothing; once the holder lets go within
    /// the timeout, the same set waits and succeeds.
    func testASetGivesUpAfterTheLockTimeoutAndChangesNothing() throws {
        try makeVault()
        try mustCoffer("set", ["a=1"])
        let head = try revParse("HEAD")
        let files = workTreeFiles()

        let fd = try holdLock()
        let blocked = try execute(coffer, cofferArguments("set", ["a=2", "b=3"]), environment: ["COFFER_LOCK_TIMEOUT": "1"])
        close(fd)
        XCTAssertEqual(blocked.exitStatus, 1, blocked.summary)
        XCTAssertTrue(blocked.stderrText.hasPrefix("coffer: error: "), blocked.summary)
        XCTAssertTrue(blocked.stderrText.hasPrefix("coffer: error: the vault is locked by another coffer process (waited 1 s)\n"),
                      "the error does not name the lock: \(blocked.summary)")
        XCTAssertGreaterThanOrEqual(blocked.seconds, 0.9, "gave up before the 1 s timeout")
        XCTAssertLessThanOrEqual(blocked.seconds, 3.0, "took too long to give up")
        XCTAssertEqual(try revParse("HEAD"), head, "HEAD moved")
        XCTAssertEqual(workTreeFiles(), files, "the work tree changed")
        XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "")
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(try listedValues(), ["a": "1"])

        // A holder that lets go after 1 s: the set waits for it and then writes.
        let second = try holdLock()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.0) { close(second) }
        let waited = try execute(coffer, cofferArguments("set", ["a=2", "b=3"]), environment: ["COFFER_LOCK_TIMEOUT": "5"])
        XCTAssertTrue(waited.succeeded, waited.summary)
        XCTAssertGreaterThanOrEqual(waited.seconds, 0.9, "the set did not wait for the lock")
        XCTAssertEqual(try revParse("HEAD~1"), head)
        XCTAssertEqual(try listedValues(), ["a": "2", "b": "3"])
        XCTAssertEqual(try mustGit(["status", "--porcelain", "--untracked-files=all"]), "")
        print("lock timeout: gave up after \(String(format: "%.2f", blocked.seconds)) s; "
              + "waited \(String(format: "%.2f", waited.seconds)) s for a 1 s holder")
    }
}
