import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Failure paths of the vault commands: each is `coffer: error: …` on stderr,
/// exit 1 (64 for usage errors), names the id and never the value, and leaves
/// the vault exactly as it was.
final class VaultErrorTests: VaultE2ECase {
    private let existing = "existing/id"
    private var existingValue = ""

    private func setUpVault() throws {
        try initVault()
        existingValue = canary("existing")
        try cofOK(["set", "\(existing)=\(existingValue)"])
    }

    /// Asserts a failure naming `mention` (if given) and leaking none of `values`.
    private func assertRefused(_ result: CommandResult, mentions mention: String?, values: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        assertCofferError(result, file: file, line: line)
        XCTAssertTrue(result.stdout.isEmpty, "\(result.command) printed on stdout: \(result.stdoutText)", file: file, line: line)
        for value in values where !value.isEmpty {
            XCTAssertFalse(result.stderrText.contains(value), "stderr of \(result.command) shows a value", file: file, line: line)
            XCTAssertFalse(result.stdoutText.contains(value), "stdout of \(result.command) shows a value", file: file, line: line)
        }
        if let mention {
            XCTAssertTrue(result.stderrText.contains(mention), "the error should name \(mention): \(result.stderrText)",
                          file: file, line: line)
        }
    }

    // MARK: invalid ids

    func testInvalidIDsAreRefusedBeforeAnythingIsTouched() throws {
        try setUpVault()
        let long = String(repeating: "a", count: 256)
        // (id, text the error must show: the id itself, or its escaped form for control characters)
        let invalid: [(String, String?)] = [
            ("", nil),
            ("..", ".."),
            (".", nil),
            ("prod/../x", "prod/../x"),
            ("../escape", "../escape"),
            ("/x", "/x"),
            ("/etc/passwd", "/etc/passwd"),
            ("a\u{01}b", "\\x01"),
            ("a\nb", "\\x0a"),
            ("a\tb", "\\x09"),
            ("a\u{7F}b", "\\x7f"),
            ("a\u{1B}[31mred", "\\x1b"),
            (".hidden", ".hidden"),
            ("prod/.hidden", "prod/.hidden"),
            ("prod/.recipients", "prod/.recipients"),
            (".git/config", ".git/config"),
            ("a//b", "a//b"),
            ("trailing/", "trailing/"),
            ("with space", "with space"),
            (long, String(long.prefix(200))),
            ("x/" + String(repeating: "b", count: 254), String(repeating: "b", count: 200)),
        ]
        let value = canary("invalid")
        let before = snapshot()
        let head = try self.head()
        for (id, mention) in invalid {
            let shown = mention ?? "invalid"
            var attempts: [CommandResult] = []
            attempts.append(try cof(["set", "\(id)=\(value)"]))
            attempts.append(try cof(["set", "ok/first=\(value)", "\(id)=\(value)"]))
            attempts.append(try cof(["set", id, "--stdin"], stdin: Data(value.utf8)))
            attempts.append(try cof(["get", id]))
            attempts.append(try cof(["get", id, "--reveal"]))
            attempts.append(try cof(["rm", id]))
            attempts.append(try cof(["rm", existing, id]))
            attempts.append(try cof(["mv", existing, id]))
            attempts.append(try cof(["mv", id, "fine/new"]))
            for result in attempts {
                assertRefused(result, mentions: shown, values: [value, existingValue])
                XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: invalid secret id \""), "\(result.command): \(result.stderrText)")
                // A hostile id cannot put raw control characters on the terminal.
                let controls = result.stderr.filter { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }
                XCTAssertTrue(controls.isEmpty, "raw control bytes in stderr of \(result.command)")
            }
            assertSameSnapshot(before, snapshot(), "commands with the invalid id \(SecretIDQuote.show(id))")
        }
        XCTAssertEqual(try self.head(), head, "no commit")
        XCTAssertFalse(fileExists("/x.age") || fileExists("/etc/passwd.age") || fileExists(path("escape.age"))
                       || fileExists(path("x.age")), "a file was written outside the vault")
        XCTAssertEqual(try reveal(existing), Data(existingValue.utf8))
    }

    /// The longest valid ids (255 bytes) work, and a 255-byte id whose single
    /// segment the file system cannot hold as a file name is either stored or
    /// refused up front — never a half-done write that breaks the vault.
    func testLongestIDsWorkOrAreRefusedCleanly() throws {
        try setUpVault()
        let segmented = String(repeating: "x", count: 100) + "/" + String(repeating: "y", count: 100) + "/"
            + String(repeating: "z", count: 53)
        XCTAssertEqual(segmented.utf8.count, 255)
        try cofOK(["set", "\(segmented)=long-id-value"])
        XCTAssertEqual(try reveal(segmented), Data("long-id-value".utf8))
        try cofOK(["rm", segmented])

        let single = String(repeating: "s", count: 255)
        let head = try self.head()
        let before = snapshot()
        let result = try cof(["set", "\(single)=single-segment-value"], clean: false)
        if result.status == 0 {
            XCTAssertEqual(try reveal(single), Data("single-segment-value".utf8))
        } else {
            assertRefused(result, mentions: nil, values: ["single-segment-value"])
            XCTAssertEqual(try self.head(), head, "a refused set must not commit (HEAD moved although the set failed)")
            assertSameSnapshot(before, snapshot(), "a refused set of a 255-byte single-segment id")
        }
        // Whatever happened, the vault still works.
        let listed = try cof(["list"], clean: false)
        XCTAssertEqual(listed.status, 0, "the vault is unusable afterwards: \(listed.stderrText)")
        let next = try cof(["set", "after=still works"], clean: false)
        XCTAssertEqual(next.status, 0, "the vault is unusable afterwards: \(next.stderrText)")
        XCTAssertEqual(try cof(["get", existing, "--reveal"], clean: false).stdoutText, existingValue)
        try assertVaultClean(after: "the long-id commands")
    }

    // Usage errors, missing ids and mv onto an existing id are rows of refusals.txt.

    // MARK: identities

    func testAnotherIdentityCannotReadAndIsToldSo() throws {
        try setUpVault()
        let other = try cofferKeygen("other-key")
        let before = snapshot()
        for result in [try cof(["get", existing, "--identity", other.identityFile]),
                       try cof(["get", existing, "--reveal", "--identity", other.identityFile]),
                       try cof(["get", existing, "--reveal"], env: ["COFFER_IDENTITY": other.identityFile]),
                       try cof(["mv", existing, "moved", "--identity", other.identityFile])] {
            assertRefused(result, mentions: existing, values: [existingValue])
            assertNoLeak(result, plaintext: nil, secrets: [other.secret])
        }
        // list --show-values still lists every id, marks the unreadable ones, and says so.
        let listed = try cof(["list", "--show-values", "--yes", "--identity", other.identityFile])
        XCTAssertEqual(listed.status, 0, listed.stderrText)
        let table = try XCTUnwrap(TableText(listed.stdoutText), listed.stdoutText)
        XCTAssertEqual(table.header, ["ID", "VALUE"])
        XCTAssertTrue(table.rows.contains([ "ID": existing, "VALUE": "(not readable by you)"]), listed.stdoutText)
        XCTAssertTrue(listed.stderrText.contains("not readable by your identity"), listed.stderrText)
        XCTAssertFalse(listed.stdoutText.contains(existingValue) || listed.stderrText.contains(existingValue))
        assertNoLeak(listed, plaintext: nil, secrets: [other.secret])
        assertSameSnapshot(before, snapshot(), "commands with another identity")
        XCTAssertEqual(try reveal(existing), Data(existingValue.utf8))
    }

    func testAnIdentityOthersCanReadIsRefusedWithAChmodHint() throws {
        try setUpVault()
        let secretLine = String(decoding: try Data(contentsOf: URL(fileURLWithPath: identityFile)), as: UTF8.self)
            .split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init) ?? ""
        let before = snapshot()
        var withoutHint: [String] = []
        for permissions in [0o644, 0o640, 0o604] as [mode_t] {
            XCTAssertEqual(chmod(identityFile, permissions), 0)
            for arguments in [["get", existing], ["get", existing, "--reveal"], ["identity", "show"],
                              ["set", "new/one=\(canary("open"))"], ["mv", existing, "moved"]] {
                let result = try cof(arguments)
                assertRefused(result, mentions: identityFile, values: [existingValue])
                assertNoLeak(result, plaintext: nil, secrets: [secretLine])
                if !result.stderrText.contains("chmod") {
                    withoutHint.append("mode \(String(permissions, radix: 8)): \(arguments.joined(separator: " ").prefix(40))")
                }
            }
        }
        XCTAssertEqual(withoutHint, [], "refusing a readable identity should hint at `chmod 600 \(identityFile)`")
        assertSameSnapshot(before, snapshot(), "commands with a readable identity")
        XCTAssertEqual(chmod(identityFile, 0o600), 0)
        XCTAssertEqual(try reveal(existing), Data(existingValue.utf8))
    }

    // MARK: sealed files altered by hand

    func testTamperedSealedFilesAreRefused() throws {
        try setUpVault()
        let id = "prod/a"
        let value = canary("tampered")
        try cofOK(["set", "\(id)=\(value)", "prod/b=\(canary("b"))"])
        let original = try sealed(id)
        let headerEnd = try XCTUnwrap(original.range(of: Data("\n--- ".utf8))).lowerBound
        let macLineEnd = try XCTUnwrap(original[(headerEnd + 1)...].firstIndex(of: 0x0A))

        var variants: [(String, Data)] = []
        func flipped(_ offset: Int) -> Data { var d = original; d[offset] ^= 0x01; return d }
        variants.append(("a flipped payload byte", flipped(original.count - 3)))
        variants.append(("a flipped first payload byte", flipped(macLineEnd + 17)))
        variants.append(("a flipped nonce byte", flipped(macLineEnd + 2)))
        variants.append(("a flipped header MAC byte", flipped(macLineEnd - 2)))
        variants.append(("a flipped stanza body byte", flipped(headerEnd - 3)))
        variants.append(("a truncated payload", original.prefix(original.count - 1)))
        variants.append(("an empty file", Data()))
        // Rebinding by editing the binding stanza: the header MAC must catch it.
        var rebound = Data()
        if let range = original.range(of: Data("coffer/binding prod/a ".utf8)) {
            rebound = original
            rebound.replaceSubrange(range, with: Data("coffer/binding prod/c ".utf8))
        }
        XCTAssertFalse(rebound.isEmpty, "the binding stanza names the id")
        variants.append(("an edited binding", rebound))

        let head = try self.head()
        for (what, bytes) in variants {
            try bytes.write(to: URL(fileURLWithPath: sealedPath(id)))
            let result = try cof(["get", id, "--reveal"], clean: false)
            assertRefused(result, mentions: id, values: [value])
            XCTAssertEqual(try cof(["get", id], clean: false).status, 1, "masked get of \(what)")
            if what == "an edited binding" {
                // Written where the edited binding points: still refused.
                try bytes.write(to: URL(fileURLWithPath: sealedPath("prod/c")))
                assertRefused(try cof(["get", "prod/c", "--reveal"], clean: false), mentions: "prod/c", values: [value])
                unlink(sealedPath("prod/c"))
            }
        }
        try original.write(to: URL(fileURLWithPath: sealedPath(id)))
        try assertVaultClean(after: "restoring the file")
        XCTAssertEqual(try self.head(), head)
        XCTAssertEqual(try reveal(id), Data(value.utf8))
    }

    func testSealedFilesCopiedOrMovedByHandAreRefused() throws {
        try setUpVault()
        let value = canary("copied")
        try cofOK(["set", "a=\(value)", "prod/x=\(canary("x"))"])
        let head = try self.head()

        // Copied: cp a.age b.age.
        XCTAssertEqual(copyByHand(sealedPath("a"), sealedPath("b")), true)
        let copied = try cof(["get", "b", "--reveal"], clean: false)
        assertRefused(copied, mentions: "coffer: error: b: sealed file is bound to a;", values: [value])
        assertRefused(try cof(["get", "b"], clean: false), mentions: "coffer: error: b: sealed file is bound to a;", values: [value])
        XCTAssertEqual(try cof(["get", "a", "--reveal"], clean: false).stdoutText, value, "the original still opens")
        // coffer mv of the copy is refused too, and moves nothing.
        let beforeMv = snapshot()
        assertRefused(try cof(["mv", "b", "c"], clean: false), mentions: "coffer: error: no secret b\n", values: [value])
        assertSameSnapshot(beforeMv, snapshot(), "mv of a hand-copied file")
        unlink(sealedPath("b"))

        // Across directories.
        try FileManager.default.createDirectory(atPath: vaultDir + "/dev", withIntermediateDirectories: true)
        XCTAssertTrue(copyByHand(sealedPath("prod/x"), sealedPath("dev/x")))
        assertRefused(try cof(["get", "dev/x", "--reveal"], clean: false), mentions: "coffer: error: dev/x: sealed file is bound to prod/x;", values: [])
        unlink(sealedPath("dev/x"))
        rmdir(vaultDir + "/dev")

        // Moved: mv a.age moved.age.
        XCTAssertEqual(rename(sealedPath("a"), sealedPath("moved")), 0)
        assertRefused(try cof(["get", "moved", "--reveal"], clean: false), mentions: "coffer: error: moved: sealed file is bound to a;",
                      values: [value])
        assertRefused(try cof(["get", "a"], clean: false), mentions: "coffer: error: no secret a\n", values: [value])
        XCTAssertEqual(rename(sealedPath("moved"), sealedPath("a")), 0)

        try assertVaultClean(after: "undoing the hand edits")
        XCTAssertEqual(try self.head(), head)
        XCTAssertEqual(try reveal("a"), Data(value.utf8))
    }

    private func copyByHand(_ from: String, _ to: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: from) else { return false }
        return FileManager.default.createFile(atPath: to, contents: data)
    }

    // MARK: no vault

    func testCommandsOutsideAVaultFail() throws {
        try cofOK(["identity", "new"])
        let value = canary("outside")
        let before = snapshot(dir.path)
        let outside = ["COFFER_VAULT": ""]
        for arguments in [["set", "a=\(value)"], ["get", "a"], ["get", "a", "--reveal"], ["list"], ["rm", "a"], ["mv", "a", "b"]] {
            let result = try cof(arguments, env: outside)
            assertRefused(result, mentions: "is not inside a coffer vault", values: [value])
        }
        let notAVault = path("plain-dir")
        try FileManager.default.createDirectory(atPath: notAVault, withIntermediateDirectories: false)
        for arguments in [["set", "a=\(value)", "--vault", notAVault], ["list", "--vault", notAVault],
                          ["get", "a", "--vault", path("does-not-exist")]] {
            assertRefused(try cof(arguments, env: outside), mentions: "is not inside a coffer vault", values: [value])
            assertRefused(try cof(arguments), mentions: "is not inside a coffer vault", values: [value])
        }
        assertRefused(try cof(["list"], env: ["COFFER_VAULT": notAVault]), mentions: notAVault, values: [])
        var after = snapshot(dir.path)
        after = after.filter { !$0.key.hasPrefix("plain-dir") && !$0.key.hasPrefix(".io/") }
        assertSameSnapshot(before.filter { !$0.key.hasPrefix(".io/") }, after, "commands outside a vault")
        XCTAssertFalse(fileExists(dir.path + "/a.age"))
        XCTAssertFalse(fileExists(dir.path + "/.git"))
    }
}

/// Printable form of an id for failure messages.
private enum SecretIDQuote {
    static func show(_ id: String) -> String {
        let escaped = id.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
        return "\"" + (escaped.count > 40 ? String(escaped.prefix(40)) + "…" : escaped) + "\""
    }
}
