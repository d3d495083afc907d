import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// No plaintext anywhere: after a scripted workflow through every input path,
/// none of the values appears in the work tree, in any git object, commit
/// message or reflog entry, in any file under .git, in the identity directory,
/// or in what any command printed without --reveal.
final class VaultLeakTests: VaultE2ECase {
    private struct Needle {
        let label: String
        let bytes: Data
    }

    /// The value itself, its random core (for values that are longer strings) and its base64.
    private func needles(_ label: String, _ value: Data, core: String? = nil) -> [Needle] {
        var out = [Needle(label: label, bytes: value), Needle(label: label + " (base64)", bytes: Data(value.base64EncodedString().utf8))]
        if let core { out.append(Needle(label: label + " (core)", bytes: Data(core.utf8))) }
        return out
    }

    private func core(of canary: String) -> String {
        // CANARY-<tag>-<32 hex>-<16 hex>: the random 32 hex digits.
        let core = String(canary.split(separator: "-").suffix(2).first ?? "")
        precondition(core.count == 32, "canary format")
        return core
    }

    func testNoPlaintextAnywhereAfterAWorkflow() throws {
        _ = try requireTool("git")
        let other = try cofferKeygen("other-key")
        try initVault()

        let argA = canary("argv-a"), argB = canary("argv-b"), argC = canary("argv-c")
        let moveValue = canary("moved"), removedValue = canary("removed"), againValue = canary("again")
        let changedValue = canary("changed"), invalidValue = canary("invalid-id")
        let stdinCanary = canary("stdin")
        let stdinValue = randomBytes(64) + Data(stdinCanary.utf8) + randomBytes(64) + Data("\n".utf8)
        let fileCanary = canary("file")
        let fileValue = Data(fileCanary.utf8) + Data("\n".utf8)
        let ttyValue = canary("tty")

        var all: [Needle] = []
        for value in [argA, argB, argC, moveValue, removedValue, againValue, changedValue, invalidValue, ttyValue] {
            all += needles(String(value.prefix(20)), Data(value.utf8), core: core(of: value))
        }
        all += needles("stdin value", stdinValue, core: core(of: stdinCanary))
        all += needles("file value", fileValue, core: core(of: fileCanary))

        // The workflow, every input path.
        try cofOK(["set", "a=\(argA)", "b/c=\(argB)", "prod/db=\(argC)", "moveme=\(moveValue)", "gone=\(removedValue)"])
        try cofOK(["set", "s", "--stdin"], stdin: stdinValue)
        let valueFile = try write("value-file", fileValue)
        try cofOK(["set", "f", "--file", valueFile])
        unlink(valueFile)
        let typed = try runOnTerminal([coffer, "set", "t"], prompt: "(Value for [^\\r\\n]*|Value again):", answer: ttyValue, maxAnswers: 2)
        XCTAssertEqual(typed.status, 0, "set on a terminal: \(typed.stdoutText)")
        try cofOK(["get", "a"])
        try cofOK(["get", "s", "-o", "json"])
        try cofOK(["get", "t"])
        try cofOK(["list"])
        try cofOK(["list", "-o", "json"])
        try cofOK(["list", "-o", "yaml"])
        try cofOK(["list", "prod"])
        try cofOK(["mv", "moveme", "moved/here"])
        try cofOK(["rm", "gone"])
        try cofOK(["set", "gone=\(againValue)"])
        try cofOK(["set", "prod/db=\(argC)"])  // no-op
        try cofOK(["set", "prod/db=\(changedValue)"])
        try cofOK(["set", "s", "--stdin"], stdin: stdinValue)  // no-op
        // Failures print nothing secret either.
        XCTAssertEqual(try cof(["set", "../x=\(invalidValue)"]).status, 1)
        XCTAssertEqual(try cof(["set", "ok=\(invalidValue)", ".hidden=\(invalidValue)"]).status, 1)
        XCTAssertEqual(try cof(["get", "a", "--reveal", "--identity", other.identityFile]).status, 1)
        XCTAssertEqual(try cof(["mv", "a", "b/c"]).status, 1)
        XCTAssertEqual(try cof(["get", "nope"]).status, 1)
        let printed = cofferResults

        // Positive control: the values are really there, and `contains` finds them.
        var revealed = Data()
        for id in ["a", "b/c", "prod/db", "moved/here", "gone", "s", "f", "t"] {
            revealed += try cofOK(["get", id, "--reveal"]).stdout
        }
        for value in [argA, argB, changedValue, moveValue, againValue, ttyValue] {
            XCTAssertTrue(contains(revealed, Data(value.utf8)), "get --reveal should show \(value.prefix(20))")
        }
        XCTAssertTrue(contains(revealed, stdinValue) && contains(revealed, fileValue))

        // Where to look.
        var places: [(String, Data)] = []
        let vaultFiles = snapshot()
        for (name, bytes) in vaultFiles where !name.hasSuffix("/") {
            places.append((name.hasPrefix(".git/") ? "file \(name)" : "work-tree file \(name)", bytes))
        }
        XCTAssertTrue(vaultFiles.keys.contains("s.age") && vaultFiles.keys.contains(".git/HEAD"), "the walk sees the vault")
        XCTAssertFalse(vaultFiles.keys.contains { $0.contains(".coffer-tmp") }, "temporary files left behind")
        let objects = try gitOK(["cat-file", "--batch-all-objects", "--batch"])
        XCTAssertTrue(objects.stdout.count > 1000, "git cat-file found the objects")
        places.append(("git objects (cat-file --batch-all-objects)", objects.stdout))
        places.append(("commit messages", try gitOK(["log", "--all", "--format=%B"]).stdout))
        places.append(("reflog", try gitOK(["log", "-g", "--format=%gs"]).stdout))
        places.append(("git notes and refs", try gitOK(["for-each-ref", "--format=%(refname) %(objectname)"]).stdout))
        for (name, bytes) in snapshot(homeDir) where !name.hasSuffix("/") {
            places.append(("home file \(name)", bytes))
        }
        for (name, bytes) in snapshot(dir.path) where !name.hasSuffix("/") && !name.hasPrefix(".io/")
            && !name.hasPrefix("vault/") && !name.hasPrefix("home/") {
            places.append(("test directory file \(name)", bytes))
        }
        for result in printed {
            places.append(("stdout of \(result.command.prefix(80))", result.stdout))
            places.append(("stderr of \(result.command.prefix(80))", result.stderr))
        }

        var leaks: [String] = []
        for (place, bytes) in places {
            for needle in all where contains(bytes, needle.bytes) {
                leaks.append("\(needle.label) in \(place)")
            }
        }
        XCTAssertEqual(leaks, [], "plaintext found")
    }

    private func contains(_ haystack: Data, _ needle: Data) -> Bool {
        !needle.isEmpty && haystack.range(of: needle) != nil
    }
}
