import Foundation
import XCTest

/// `coffer sync` between two people's clones through a bare remote: edits
/// merged by value, conflicts held back until resolved, readers united,
/// reports that name ids only. Leak checks run at tear-down (SyncTestCase).
final class SyncTests: SyncTestCase {
    private func strings(_ report: [String: Any], _ key: String) -> [String] { report[key] as? [String] ?? ["<missing \(key)>"] }

    /// Disjoint edits travel both ways: one merge commit with two parents,
    /// the reports name what came and went, both clones verify.
    func testDisjointEditsSyncBothWaysThroughOneMergeCommit() throws {
        let first = try setUpTeam()
        XCTAssertEqual(first["upstream_set"] as? Bool, true, "the first sync did not set the upstream: \(first)")
        let a1 = value("a1"), a2 = value("a2"), b1 = value("b1")
        try alice(["set", "app/one", "--stdin"], stdin: a1)
        try alice(["set", "app/two", "--stdin"], stdin: a2)
        try bob(["set", "ops/three", "--stdin"], stdin: b1)

        let fromBob = try syncBob()
        XCTAssertEqual(strings(fromBob, "sent"), ["ops/three"])
        XCTAssertEqual(fromBob["result"] as? String, "up-to-date")
        XCTAssertNotNil(fromBob["pushed"] as? String)
        let fromAlice = try syncAlice()
        XCTAssertEqual(fromAlice["result"] as? String, "merged")
        XCTAssertEqual(strings(fromAlice, "received"), ["ops/three"])
        XCTAssertEqual(strings(fromAlice, "sent"), ["app/one", "app/two"])
        let merge = try head(in: aliceDir)
        XCTAssertEqual(fromAlice["pushed"] as? String, merge)
        XCTAssertEqual(try remoteTip(), merge)
        let back = try syncBob()
        XCTAssertEqual(back["result"] as? String, "fast-forward")
        XCTAssertEqual(strings(back, "received"), ["app/one", "app/two"])
        XCTAssertEqual(try head(in: bobDir), merge)

        XCTAssertEqual(try parents(merge, in: bobDir).count, 2, "the merge commit has not two parents")
        let graph = try gitOK(["log", "--graph", "--oneline"], in: bobDir).stdoutText
        XCTAssertTrue(graph.contains("|\\"), "git log --graph shows no merge:\n\(graph)")
        let expected = ["app/one": a1, "app/two": a2, "ops/three": b1]
        XCTAssertEqual(try values(in: "alice").filter { expected[$0.key] != nil }, expected)
        XCTAssertEqual(try values(in: "bob").filter { expected[$0.key] != nil }, expected)
        try assertBothHealthy()
    }

    /// A bare remote whose HEAD names `master` while the vault's branch is
    /// `main`: the first sync creates `main` there, clone checks it out.
    func testARemoteWhoseHEADNamesMasterAndAVaultOnMain() throws {
        try checkBranchMismatch(vault: "main", remoteHead: "master")
    }

    /// The reverse: the remote's HEAD names `main`, the vault is on `master`.
    func testARemoteWhoseHEADNamesMainAndAVaultOnMaster() throws {
        try checkBranchMismatch(vault: "master", remoteHead: "main")
    }

    private func checkBranchMismatch(vault branch: String, remoteHead: String, line: UInt = #line) throws {
        let first = try setUpTeam(branch: branch, remoteHead: remoteHead, line: line)
        XCTAssertEqual(first["branch"] as? String, branch, "\(first)", line: line)
        XCTAssertEqual(first["upstream_set"] as? Bool, true, line: line)
        let branches = try gitOK(["for-each-ref", "--format=%(refname)", "refs/heads"], in: remote, line: line).stdoutText
        XCTAssertEqual(branches, "refs/heads/\(branch)\n", "the remote's branches", line: line)
        XCTAssertEqual(try currentBranch(in: bobDir, line: line), branch, "clone checked out another branch", line: line)
        let upstream = try gitOK(["rev-parse", "--abbrev-ref", "@{upstream}"], in: bobDir, line: line).stdoutText
        XCTAssertEqual(upstream, "origin/\(branch)\n", line: line)
        let a = value("a"), b = value("b")
        try alice(["set", "x/a", "--stdin"], stdin: a)
        try bob(["set", "x/b", "--stdin"], stdin: b)
        try syncBob(line: line)
        try syncAll(line: line)
        XCTAssertEqual(try values(in: "bob", line: line), ["x/a": a, "x/b": b], line: line)
        XCTAssertEqual(try values(in: "alice", line: line), ["x/a": a, "x/b": b], line: line)
        try assertBothHealthy(line: line)
    }

    /// (a) alice added a reader (every file only re-wrapped) while bob changed
    /// a value: the merge, made in bob's clone, seals bob's value for carol too.
    func testAReWrapOnOneSideMergesCleanlyForTheMergedReaders() throws {
        try setUpTeam()
        let kept = value("kept"), old = value("old"), new = value("new")
        try alice(["set", "app/kept", "--stdin"], stdin: kept)
        try alice(["set", "app/changed", "--stdin"], stdin: old)
        try syncAll()
        let carol = try reader("carol")
        try alice(["recipients", "add", carol.recipient, "--name", "carol"])
        try syncAlice()
        try bob(["set", "app/changed", "--stdin"], stdin: new)
        let merged = try syncBob()
        XCTAssertEqual(merged["result"] as? String, "merged", "\(merged)")
        XCTAssertEqual(strings(merged, "conflicts").count, 0)
        XCTAssertTrue(strings(merged, "resealed").contains("app/changed"), "\(merged)")
        try syncAlice()
        for directory in [aliceDir, bobDir] {
            XCTAssertEqual(try reveal("app/changed", in: directory, as: carol), new, "carol in \(directory)")
            XCTAssertEqual(try reveal("app/kept", in: directory, as: carol), kept, "carol in \(directory)")
        }
        XCTAssertEqual(try values(in: "alice"), ["app/kept": kept, "app/changed": new])
        try assertBothHealthy()
    }

    /// (b) one side changed a value, the other only re-keyed it (`rotate`)
    /// and re-wrapped it (`recipients add`): the changed value wins, in both
    /// directions, sealed for the merged readers.
    func testAChangedValueWinsOverARekeyOrReWrap() throws {
        try setUpTeam()
        let p0 = value("p0"), q0 = value("q0"), r0 = value("r0")
        try alice(["set", "p/v", "--stdin"], stdin: p0)
        try alice(["set", "q/v", "--stdin"], stdin: q0)
        try alice(["set", "r/v", "--stdin"], stdin: r0)
        try syncAll()
        let carol = try reader("carol")
        try alice(["rotate", "p"])
        try alice(["recipients", "add", carol.recipient, "--name", "carol"])
        let r1 = value("r1")
        try alice(["set", "r/v", "--stdin"], stdin: r1)
        let p1 = value("p1"), q1 = value("q1")
        try bob(["set", "p/v", "--stdin"], stdin: p1)
        try bob(["set", "q/v", "--stdin"], stdin: q1)
        try bob(["rotate", "r"])
        try syncBob()
        let merged = try syncAlice()
        XCTAssertEqual(merged["result"] as? String, "merged", "\(merged)")
        try syncBob()
        let expected = ["p/v": p1, "q/v": q1, "r/v": r1]
        XCTAssertEqual(try values(in: "alice"), expected)
        XCTAssertEqual(try values(in: "bob"), expected)
        for (id, wanted) in expected { XCTAssertEqual(try reveal(id, in: bobDir, as: carol), wanted, "carol reading \(id)") }
        try assertBothHealthy()
    }

    // MARK: conflicts

    private struct Diverged {
        let id = "db/password"
        let ours: String
        let theirs: String
        let aliceOnly: String
        let bobOnly: String
    }

    /// alice and bob set db/password to different values (and one other id
    /// each); bob syncs first; alice's sync stops on the conflict having
    /// written and sent nothing.
    private func conflict(line: UInt = #line) throws -> Diverged {
        try setUpTeam(line: line)
        let base = value("base")
        try alice(["set", "db/password", "--stdin"], stdin: base, line: line)
        try syncAll(line: line)
        let d = Diverged(ours: value("ours"), theirs: value("theirs"), aliceOnly: value("alice-only"), bobOnly: value("bob-only"))
        try alice(["set", d.id, "--stdin"], stdin: d.ours, line: line)
        try alice(["set", "app/alice", "--stdin"], stdin: d.aliceOnly, line: line)
        try bob(["set", d.id, "--stdin"], stdin: d.theirs, line: line)
        try bob(["set", "app/bob", "--stdin"], stdin: d.bobOnly, line: line)
        try syncBob(line: line)
        let remoteBefore = try remoteTip(line: line), headBefore = try head(in: aliceDir, line: line)
        let treeBefore = workTree(aliceDir)

        let table = try alice(["sync"], status: 1, line: line)
        XCTAssertTrue(table.stdoutText.contains("conflict  \(d.id)"), "sync does not list the conflict: \(table.stdoutText)", line: line)
        XCTAssertTrue(table.stderrText.contains("coffer resolve"), "no hint: \(table.stderrText)", line: line)
        let json = try syncAlice(status: 1, line: line)
        XCTAssertEqual(json["result"] as? String, "conflicts", line: line)
        XCTAssertNil(json["pushed"] as? String, "a sync with conflicts pushed", line: line)
        let listed = (json["conflicts"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        XCTAssertEqual(listed, [d.id], line: line)

        XCTAssertEqual(try remoteTip(line: line), remoteBefore, "something was pushed", line: line)
        XCTAssertEqual(try head(in: aliceDir, line: line), headBefore, "HEAD moved", line: line)
        XCTAssertEqual(workTree(aliceDir), treeBefore, "the work tree changed during the conflict", line: line)
        assertNoPlaintext(under: aliceDir, line: line)

        let conflicts = try XCTUnwrap(TableText(try alice(["conflicts"], line: line).stdoutText), line: line)
        XCTAssertEqual(conflicts.column("ID"), [d.id], line: line)
        XCTAssertEqual(conflicts.column("SETTLED"), ["no"], line: line)
        let listedJSON = try report(try alice(["conflicts", "-o", "json"], line: line), line: line)
        let rows = try XCTUnwrap(listedJSON["conflicts"] as? [[String: Any]], line: line)
        XCTAssertEqual(rows.map { $0["id"] as? String }, [d.id], line: line)
        XCTAssertEqual(rows.map { $0["settled"] as? Bool }, [false], line: line)
        return d
    }

    /// After `resolve`: one merge commit, sent by the next sync, received by
    /// bob's; both clones hold `expected` for the id.
    private func finish(_ d: Diverged, expecting expected: String, line: UInt = #line) throws {
        XCTAssertEqual(try parents(in: aliceDir, line: line).count, 2, "resolve made no merge commit", line: line)
        XCTAssertEqual(TableText(try alice(["conflicts"], line: line).stdoutText)?.cells.count, 0, "conflicts remain", line: line)
        let sent = try syncAlice(line: line)
        XCTAssertEqual(sent["pushed"] as? String, try head(in: aliceDir, line: line), "\(sent)", line: line)
        let received = try syncBob(line: line)
        XCTAssertEqual(received["result"] as? String, "fast-forward", "\(received)", line: line)
        XCTAssertEqual(try head(in: bobDir, line: line), try head(in: aliceDir, line: line), line: line)
        let all = ["db/password": expected, "app/alice": d.aliceOnly, "app/bob": d.bobOnly]
        XCTAssertEqual(try values(in: "alice", line: line), all, line: line)
        XCTAssertEqual(try values(in: "bob", line: line), all, line: line)
        try assertBothHealthy(line: line)
    }

    func testAConflictWaitsForResolveTheirs() throws {
        let d = try conflict()
        try alice(["resolve", d.id, "--theirs"])
        try finish(d, expecting: d.theirs)
    }

    func testAConflictWaitsForResolveOurs() throws {
        let d = try conflict()
        try alice(["resolve", d.id, "--ours"])
        try finish(d, expecting: d.ours)
    }

    func testAConflictWaitsForResolveWithANewValue() throws {
        let d = try conflict()
        let third = value("third")
        try alice(["resolve", d.id, "--stdin"], stdin: third)
        try finish(d, expecting: third)
    }

    // MARK: readers

    /// Each side added a different reader: the merge holds both, is signed,
    /// and neither clone holds anything back.
    func testReadersAddedOnBothSidesAreUnitedInASignedMerge() throws {
        try setUpTeam()
        let shared = value("shared")
        try alice(["set", "app/shared", "--stdin"], stdin: shared)
        try syncAll()
        let carol = try reader("carol"), dave = try reader("dave")
        try alice(["recipients", "add", carol.recipient, "--name", "carol"])
        try bob(["recipients", "add", dave.recipient, "--name", "dave"])
        let later = value("later")
        try bob(["set", "app/later", "--stdin"], stdin: later)
        try syncBob()
        let merged = try syncAlice()
        XCTAssertEqual(merged["result"] as? String, "merged", "\(merged)")
        XCTAssertEqual(strings(merged, "held_back"), [])
        try syncBob()

        let merge = try head(in: aliceDir)
        XCTAssertEqual(try parents(merge, in: aliceDir).count, 2)
        for directory in [aliceDir, bobDir] {
            let readers = try String(contentsOfFile: directory + "/.recipients", encoding: .utf8)
            XCTAssertTrue(readers.contains(carol.recipient) && readers.contains(dave.recipient), "not the union in \(directory): \(readers)")
            let signed = try git(["verify-commit", merge], in: directory)
            XCTAssertEqual(signed.status, 0, "the merge is not signed by a trusted signer in \(directory): \(signed.stderrText)")
            for who in [carol, dave] {
                XCTAssertEqual(try reveal("app/shared", in: directory, as: who), shared)
                XCTAssertEqual(try reveal("app/later", in: directory, as: who), later)
            }
        }
        for status in [try alice(["signers", "status", "-o", "json"]), try bob(["signers", "status", "-o", "json"])] {
            let held = try XCTUnwrap(try report(status)["held"] as? [Any], status.stdoutText)
            XCTAssertTrue(held.isEmpty, "\(status.command) holds back: \(status.stdoutText)")
        }
        try assertBothHealthy()
    }

    // MARK: the report

    /// `-o json` and `-o yaml` parse and name ids (and trust files) only.
    func testTheReportNamesIdsReceivedAndSent() throws {
        try setUpTeam()
        let vs = (0..<3).map { value("v\($0)") }
        try bob(["set", "svc/a", "--stdin"], stdin: vs[0])
        try bob(["set", "svc/b", "--stdin"], stdin: vs[1])
        try alice(["set", "web/c", "--stdin"], stdin: vs[2])
        let carol = try reader("carol")
        try alice(["recipients", "add", carol.recipient, "--name", "carol", "--scope", "web"])
        let out = try syncBob()
        XCTAssertEqual(strings(out, "sent"), ["svc/a", "svc/b"])
        XCTAssertEqual(strings(out, "received"), [])
        let yaml = try alice(["sync", "-o", "yaml", "--vault", aliceDir]).stdoutText
        XCTAssertTrue(yaml.contains("result: \"merged\""), yaml)
        XCTAssertTrue(yaml.contains("received:\n- \"svc/a\"\n- \"svc/b\"\n"), yaml)
        let back = try syncBob()
        XCTAssertEqual(back["result"] as? String, "fast-forward")
        XCTAssertEqual(strings(back, "received"), ["web/c"])
        XCTAssertEqual(strings(back, "received_files"), ["web/.recipients"])
        for report in [out, back] {
            for key in ["sent", "received", "resealed", "exposed", "held_back"] {
                for id in strings(report, key) { XCTAssertTrue(["svc/a", "svc/b", "web/c"].contains(id), "\(key) names \(id)") }
            }
        }
        try assertBothHealthy()
    }
}
