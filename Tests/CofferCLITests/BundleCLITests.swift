import Foundation
import XCTest
import Tar

/// Bundles from a dev vault (the default identity, "dev") to a prod vault
/// read by another identity ("prod"), with the built binary and stock tools.
final class BundleCLITests: VaultE2ECase {
    private var prodDir: String { path("prod") }
    private var prodKey: String { path("prod.key") }
    private var prodRecipient = ""
    private var devSigningKey = ""
    private var values: [String: String] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        try initVault(name: "dev")
        values = ["app/db": canary("db"), "app/api/token": "tok=en#\"q\" " + canary("token"), "other/x": canary("other")]
        try cofOK(["set"] + values.keys.sorted().map { "\($0)=\(values[$0]!)" })
        devSigningKey = try signingKey()
        prodRecipient = try newIdentity(prodKey)
        try cofOK(["init", prodDir, "--name", "prod", "--identity", prodKey], clean: false)
        try prod(["signers", "add", devSigningKey, "--name", "dev"])
    }

    /// `coffer identity show`'s signing line (the last one).
    private func signingKey(identity: String? = nil) throws -> String {
        let shown = try cofOK(["identity", "show"] + (identity.map { ["--identity", $0] } ?? []), clean: false).stdoutText
        return try XCTUnwrap(shown.split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init), shown)
    }

    private func newIdentity(_ file: String) throws -> String {
        let made = try cofOK(["identity", "new", "--identity", file], clean: false).stdoutText
        return try XCTUnwrap(made.split(separator: "\n").first { $0.hasPrefix("age1") }.map(String.init), made)
    }

    @discardableResult
    private func prod(_ arguments: [String], ok: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try cof(arguments + ["--vault", prodDir, "--identity", prodKey], clean: false, file: file, line: line)
        if ok { XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderrText)", file: file, line: line) }
        try assertVaultClean(in: prodDir, after: arguments.joined(separator: " "), file: file, line: line)
        return result
    }

    private func export(_ name: String, prefix: String = "app", identity: String? = nil, vault: String? = nil) throws -> String {
        let out = path(name)
        try cofOK(["export", prefix, "--to", prodRecipient, "-o", out] + (identity.map { ["--identity", $0] } ?? [])
                  + (vault.map { ["--vault", $0] } ?? []), clean: false)
        return out
    }

    /// The import fails naming `expected`, and prod's HEAD does not move.
    private func assertImportRefused(_ bundle: String, _ expected: String, extra: [String] = [],
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try head(in: prodDir)
        let result = try prod(["import", bundle] + extra, ok: false, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, "imported: \(result.stderrText)", file: file, line: line)
        XCTAssertTrue(result.stderrText.contains(expected), "expected “\(expected)”: \(result.stderrText)", file: file, line: line)
        XCTAssertEqual(try head(in: prodDir), before, "a refused import committed", file: file, line: line)
        for value in values.values { assertDoesNotContain(result.stderr + result.stdout, Data(value.utf8), "import output") }
    }

    private func members(_ bundle: String) throws -> [TarReader.Member] {
        try TarReader.members(of: Array(try Data(contentsOf: URL(fileURLWithPath: bundle))), maxMemberSize: 1 << 20, maxMembers: 100)
    }

    private func rewrite(_ bundle: String, as name: String, _ change: (inout [TarReader.Member]) -> Void) throws -> String {
        var list = try members(bundle)
        change(&list)
        var tar = TarWriter(modificationTime: 0)
        for member in list { try tar.add(path: member.path, contents: member.contents) }
        let out = path(name)
        try Data(tar.finish()).write(to: URL(fileURLWithPath: out))
        return out
    }

    func testRoundTripIsOneSignedCommitAndOnlyProdOpensIt() throws {
        let bundle = try export("app.bundle")
        let before = Int(try gitOK(["rev-list", "--count", "HEAD"], in: prodDir).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))!
        let imported = try prod(["import", bundle, "-o", "json"])
        XCTAssertTrue(imported.stdoutText.contains(#""signer":"dev""#), imported.stdoutText)
        try assertLastAudit("import", ids: ["app/db", "app/api/token"], commit: try head(in: prodDir), vault: prodDir)
        for id in ["app/db", "app/api/token"] {
            XCTAssertEqual(try prod(["get", id, "--reveal"]).stdoutText, values[id])
        }
        XCTAssertNotEqual(try prod(["get", "other/x"], ok: false).status, 0, "other/x was not exported")
        XCTAssertEqual(Int(try gitOK(["rev-list", "--count", "HEAD"], in: prodDir).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), before + 1)
        let message = try gitOK(["log", "-1", "--format=%B"], in: prodDir).stdoutText
        for trailer in ["Coffer-Action: import", "Coffer-Bundle: ", "Coffer-Signer: dev", "Coffer-Source: ", "Coffer-Id: app/db"] {
            XCTAssertTrue(message.contains(trailer), "\(trailer) missing: \(message)")
        }
        try prod(["verify"])
        // The dev identity opens none of it.
        XCTAssertNotEqual(try cof(["import", bundle, "--dry-run"], clean: false).status, 0)
        for member in try members(bundle) where member.path.hasSuffix(".age") {
            let entry = try write("entry.age", Data(member.contents))
            XCTAssertNotEqual(try ageDecrypt(entry).status, 0, "the dev identity opens \(member.path)")
        }
    }

    /// docs/BUNDLES.md's recipe, as written, with the stock tools.
    func testTheStockToolsRecipe() throws {
        for tool in ["tar", "ssh-keygen", "sha256sum", "age", "bash", "diff"] { _ = try requireTool(tool) }
        let bundle = try export("app.bundle")
        let script = """
            set -e
            mkdir b && tar -x -f "$1" -C b && cd b
            ssh-keygen -Y find-principals -f "$2/.signers" -s manifest.sig
            ssh-keygen -Y verify -f "$2/.signers" -I dev -n coffer-bundle -s manifest.sig < manifest
            grep -E '^[0-9a-f]{64}  ' manifest | sha256sum -c
            diff <(grep -E '^[0-9a-f]{64}  ' manifest | cut -c67- | sort) <(find . -type f ! -name manifest ! -name manifest.sig | cut -c3- | sort)
            grep -E '^[0-9a-f]{64}  ' manifest | cut -c67- | while read -r f; do
                printf '%s: ' "$f"; age -d -i "$3" "$f" || echo "(not for this identity)"; echo
            done
            """
        let result = try run(try requireTool("bash"), ["-c", script, "bash", bundle, prodDir, prodKey], environment: vaultEnvironment())
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertTrue(result.stdoutText.hasPrefix("dev\n"), "find-principals: \(result.stdoutText)")
        XCTAssertTrue(result.stdoutText.contains("Good \"coffer-bundle\" signature for dev"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("secrets/app/db.age: OK"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("secrets/app/db.age: \(values["app/db"]!)"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("secrets/app/api/token.age: \(values["app/api/token"]!)"), result.stdoutText)
    }

    /// An entry slipped into the archive (sealed for prod by anyone who knows
    /// its public key) fails the recipe's file-list step, as import refuses it.
    func testTheStockRecipeNoticesAnAddedEntry() throws {
        for tool in ["tar", "bash", "diff"] { _ = try requireTool(tool) }
        let bundle = try export("app.bundle")
        let extra = try rewrite(bundle, as: "extra.bundle") { list in
            list.append(TarReader.Member(path: "secrets/app/evil.age", contents: list.first { $0.path == "secrets/app/db.age" }!.contents))
        }
        let script = """
            set -e
            mkdir c && tar -x -f "$1" -C c && cd c
            diff <(grep -E '^[0-9a-f]{64}  ' manifest | cut -c67- | sort) <(find . -type f ! -name manifest ! -name manifest.sig | cut -c3- | sort)
            """
        let result = try run(try requireTool("bash"), ["-c", script, "bash", extra], environment: vaultEnvironment())
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stdoutText.contains("secrets/app/evil.age"), result.stdoutText)
        try assertImportRefused(extra, "which its manifest does not list")
    }

    func testSignatureTrustAndReplayAreChecked() throws {
        let first = try export("first.bundle")
        let second = try export("second.bundle")
        // Unsigned, or signed by a key prod does not trust.
        try assertImportRefused(try rewrite(first, as: "unsigned.bundle") { $0.removeAll { $0.path == "manifest.sig" } }, "not signed")
        let strangerKey = path("stranger.key")
        _ = try newIdentity(strangerKey)
        let strangerVault = path("stranger")
        try cofOK(["init", strangerVault, "--name", "stranger", "--identity", strangerKey], clean: false)
        try cofOK(["set", "app/db=x", "--vault", strangerVault, "--identity", strangerKey], clean: false)
        let stranger = try export("stranger.bundle", identity: strangerKey, vault: strangerVault)
        try assertImportRefused(stranger, "does not trust")
        // --signer trusts a key for one import.
        try prod(["import", stranger, "--signer", try signingKey(identity: strangerKey), "--dry-run"])
        // A manifest edited (a digest changed): the signature no longer verifies.
        let edited = try rewrite(first, as: "edited.bundle") { list in
            let index = list.firstIndex { $0.path == "manifest" }!
            var text = String(decoding: list[index].contents, as: UTF8.self)
            text = text.replacingOccurrences(of: "prefix: app", with: "prefix: /")
            list[index] = TarReader.Member(path: "manifest", contents: Array(text.utf8))
        }
        try assertImportRefused(edited, "signature does not verify")
        // A truncated file, and one sealed for another recipient.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        let truncated = try write("truncated.bundle", bytes.prefix(bytes.count - 2000))
        try assertImportRefused(truncated, "truncated")

        // Newest first: the older one is then a replay.
        try prod(["import", second])
        try assertImportRefused(first, "not after the last one imported")
        try assertImportRefused(second, "not after the last one imported")
        // Naming the key with --signer does not get around its records.
        try assertImportRefused(first, "not after the last one imported", extra: ["--signer", devSigningKey])
        try prod(["import", first, "--allow-older"])
    }

    /// A pushed `.imported` link (say to /dev/zero) is never read: the
    /// records come from HEAD, and the import cannot write through it.
    func testAPushedImportedLinkIsNeverRead() throws {
        let bundle = try export("app.bundle")
        XCTAssertEqual(symlink("/dev/zero", prodDir + "/.imported"), 0)
        try gitOK(["add", ".imported"], in: prodDir)
        try gitOK(["-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qm", "records"], in: prodDir)
        let dry = try prod(["import", bundle, "--dry-run"])
        XCTAssertTrue(dry.stderrText.contains("would import: 2 added"), dry.stderrText)
        try assertImportRefused(bundle, ".imported")
    }

    /// Importing into a scope you do not read needs --yes, as `set` does.
    func testImportingWhereYouCannotReadNeedsYes() throws {
        let other = try newIdentity(path("other.key"))
        try FileManager.default.createDirectory(atPath: prodDir + "/ops", withIntermediateDirectories: true)
        try "\(other) # other\n".write(toFile: prodDir + "/ops/.recipients", atomically: true, encoding: .utf8)
        try gitOK(["add", "ops/.recipients"], in: prodDir)
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ops"], in: prodDir)
        try prod(["recipients", "accept", "--yes"])
        let bundle = try export("app.bundle")
        try assertImportRefused(bundle, "you will not be able to read", extra: ["--prefix", "ops"])
        try prod(["import", bundle, "--prefix", "ops", "--yes"])
        XCTAssertEqual(try ageDecrypt(prodDir + "/ops/db.age", identity: path("other.key")).stdoutText, values["app/db"])
    }

    /// A plaintext file is never written into the vault through a link.
    func testPlaintextExportDoesNotWriteThroughALinkIntoTheVault() throws {
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        for (name, target) in [("dangling.env", vaultDir + "/leak.env"), ("existing.env", vaultDir + "/.recipients")] {
            XCTAssertEqual(symlink(target, path("out/" + name)), 0)
            let before = snapshot()
            let result = try cof(["export", "app", "--format", "dotenv", "--reveal", "-o", path("out/" + name)])
            XCTAssertNotEqual(result.status, 0, name)
            assertSameSnapshot(before, snapshot(), "export through \(name)")
            for value in values.values { assertDoesNotContain(result.stdout + result.stderr, Data(value.utf8), name) }
        }
    }

    func testABundleForAnotherRecipientIsRefused() throws {
        let other = try newIdentity(path("other.key"))
        let out = path("other.bundle")
        try cofOK(["export", "app", "--to", other, "-o", out], clean: false)
        try assertImportRefused(out, "not sealed for your identity")
    }

    func testExportNeedsToOpenWhatItExports() throws {
        // A scope the dev identity does not read: named, and the export fails.
        try FileManager.default.createDirectory(atPath: vaultDir + "/ops", withIntermediateDirectories: true)
        try "\(prodRecipient) # prod\n".write(toFile: vaultDir + "/ops/.recipients", atomically: true, encoding: .utf8)
        try gitOK(["add", "ops/.recipients"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ops"])
        try cofOK(["recipients", "accept", "--yes"])
        try cofOK(["set", "--yes", "ops/key=v"])
        let out = path("all.bundle")
        let refused = try cof(["export", "/", "--to", prodRecipient, "-o", out], clean: false)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("ops/key"), refused.stderrText)
        XCTAssertFalse(fileExists(out))
        let skipped = try cofOK(["export", "/", "--to", prodRecipient, "-o", out, "--skip-unreadable"], clean: false)
        XCTAssertTrue(skipped.stderrText.contains("ops/key"), skipped.stderrText)
        XCTAssertFalse(try members(out).contains { $0.path == "secrets/ops/key.age" })
    }
}
