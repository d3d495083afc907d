import Foundation
import XCTest

/// Age plugins as readers and identities, through the test plugin
/// (Tests/AgePluginTests/Fixtures/age-plugin-coffertest, which speaks the
/// protocol as the spec describes and logs every session it starts): one
/// session serves a whole operation, and a plugin that fails stops it with a
/// clear error and nothing committed.
final class PluginReaderTests: VaultE2ECase {
    private var pluginBin: String { path("plugin-bin") }
    private var sessionsLog: String { path("plugin-sessions") }

    /// The test plugin on a PATH of its own; its identity file and recipient.
    private func installPlugin(file: StaticString = #filePath, line: UInt = #line) throws -> (identityFile: String, recipient: String) {
        _ = try requireTool("python3", file: file, line: line)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AgePluginTests/Fixtures/age-plugin-coffertest").path
        try FileManager.default.createDirectory(atPath: pluginBin, withIntermediateDirectories: true)
        let installed = pluginBin + "/age-plugin-coffertest"
        try FileManager.default.copyItem(atPath: fixture, toPath: installed)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: installed)
        let keys = try succeed(installed, ["--keygen", "coffer-cli-tests"], file: file, line: line).stdoutText
            .split(separator: "\n").map(String.init)
        let identityFile = try write("plugin-identity", keys[0] + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: identityFile)
        return (identityFile, keys[1])
    }

    private func pluginEnv(mode: String = "normal") -> [String: String] {
        ["PATH": pluginBin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
         "COFFERTEST_SESSIONS": sessionsLog, "COFFERTEST_MODE": mode, "COFFER_PLUGIN_TIMEOUT": "3"]
    }

    /// The sessions the plugin has logged, one line each (`recipient-v1 files=N …`).
    private func sessions() -> [String] {
        ((try? String(contentsOfFile: sessionsLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testAPluginReaderOfAThousandSecretsStartsOneSessionPerOperation() throws {
        let plugin = try installPlugin()
        try initVault()
        let ids = (0..<1000).map { String(format: "svc/k%04d", $0) }
        try cofOK(["set"] + ids.map { "\($0)=value-\($0)" }, env: pluginEnv())
        XCTAssertEqual(sessions(), [], "no plugin reader yet, no plugin run")

        let added = try cofOK(["recipients", "add", plugin.recipient, "--name", "token"], env: pluginEnv())
        XCTAssertTrue(added.stderrText.contains("re-wrapped 1000 secrets"), added.stderrText)
        XCTAssertEqual(sessions(), ["recipient-v1 files=1000 recipients=1 identities=0"], "recipients add")

        let commits = try commitCount()
        try cofOK(["rotate"], env: pluginEnv())
        XCTAssertEqual(try commitCount(), commits + 1)
        XCTAssertEqual(sessions().count, 2, "rotate: \(sessions())")
        XCTAssertEqual(sessions().last, "recipient-v1 files=1000 recipients=1 identities=0")

        // Read with the plugin's identity alone: one identity session for all 1,000 exec reads.
        let exec = try cofOK(["exec", "--prefix", "svc", "--identity", plugin.identityFile, "--",
                              "/bin/sh", "-c", "printf '%s %s' \"$K0000\" \"$K0999\""], env: pluginEnv())
        XCTAssertEqual(exec.stdoutText, "value-svc/k0000 value-svc/k0999")
        XCTAssertEqual(sessions().count, 3, "exec: \(sessions())")
        XCTAssertEqual(sessions().last, "identity-v1 files=1000 identities=1")

        // Stock age with the same plugin opens what coffer sealed.
        let age = try requireTool("age")
        let opened = try run(age, ["-d", "-i", plugin.identityFile, sealedPath("svc/k0500")], environment: vaultEnvironment(pluginEnv()))
        XCTAssertEqual(opened.stdoutText, "value-svc/k0500", opened.stderrText)
        let verify = try cofOK(["verify"], env: pluginEnv())
        XCTAssertTrue((verify.stdoutText + verify.stderrText).contains("no drift"), verify.stdoutText + verify.stderrText)
        let list = try cofOK(["recipients", "list", "-o", "json"], env: pluginEnv()).stdoutText
        XCTAssertTrue(list.contains(plugin.recipient) && list.contains("\"token\""), list)
    }

    /// Each reader has exactly one stanza, and only coffer writes the binding:
    /// a plugin that answers otherwise is an error, nothing committed —
    /// not a file that drifts forever, or one no one can open.
    func testAPluginThatSendsOtherThanOneStanzaPerReaderIsRefused() throws {
        let plugin = try installPlugin()
        try initVault()
        try cofOK(["set", "a=alpha", "b=beta"])
        let commits = try commitCount()
        let before = snapshot()
        for mode in ["binding-stanza", "two-stanzas"] {
            let result = try cof(["recipients", "add", plugin.recipient, "--name", "token"], env: pluginEnv(mode: mode))
            XCTAssertEqual(result.status, 1, "\(mode): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), "\(mode): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.contains("coffertest"), "\(mode) names the plugin: \(result.stderrText)")
            XCTAssertEqual(try commitCount(), commits, "\(mode) committed")
            assertSameSnapshot(before, snapshot(), "a plugin answering \(mode)")
        }
        // With the reader in place, sealing a new value through a misbehaving plugin fails the same way.
        try cofOK(["recipients", "add", plugin.recipient, "--name", "token"], env: pluginEnv())
        let added = try commitCount()
        for mode in ["two-stanzas", "binding-stanza"] {
            let result = try cof(["set", "c=gamma"], env: pluginEnv(mode: mode))
            XCTAssertEqual(result.status, 1, "\(mode): \(result.stderrText)")
            XCTAssertEqual(try commitCount(), added, "\(mode) committed")
        }
        let verify = try cofOK(["verify"], env: pluginEnv())
        XCTAssertTrue((verify.stdoutText + verify.stderrText).contains("no drift"), verify.stdoutText + verify.stderrText)
    }

    /// A plugin identity pasted where a name or reader belongs is refused like
    /// an age secret key: never committed in `.recipients`, never echoed.
    func testAPastedPluginIdentityIsNeverCommittedOrShown() throws {
        let plugin = try installPlugin()
        try initVault()
        let identity = try String(contentsOfFile: plugin.identityFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let body = String(identity.dropFirst("AGE-PLUGIN-COFFERTEST-1".count))
        let commits = try commitCount()
        for arguments in [["recipients", "add", plugin.recipient, "--name", identity], ["recipients", "rm", identity],
                          ["get", identity], ["get", "x", "--identity", identity]] {
            let result = try cof(arguments, env: pluginEnv())
            XCTAssertNotEqual(result.status, 0, "\(arguments[0]) \(arguments[1]): \(result.stderrText)")
            for shown in [result.stdoutText, result.stderrText] {
                XCTAssertFalse(shown.uppercased().contains(body.uppercased()), "\(arguments[0]) \(arguments[1]) shows the identity: \(shown)")
            }
        }
        XCTAssertEqual(try commitCount(), commits)
        XCTAssertFalse(try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8).contains(body))
    }

    func testAPluginThatFailsIsAClearErrorAndNothingIsCommitted() throws {
        let plugin = try installPlugin()
        try initVault()
        try cofOK(["set", "a=alpha", "b=beta"])
        let commits = try commitCount()
        let before = snapshot()
        for mode in ["exit-early", "hang", "malformed-stanza", "error"] {
            let started = Date()
            let result = try cof(["recipients", "add", plugin.recipient, "--name", "token"], env: pluginEnv(mode: mode))
            XCTAssertEqual(result.status, 1, "\(mode): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), "\(mode): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.contains("coffertest"), "\(mode) names the plugin: \(result.stderrText)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, "\(mode) took too long")
            XCTAssertEqual(try commitCount(), commits, "\(mode) committed")
            assertSameSnapshot(before, snapshot(), "a failed plugin (\(mode))")
        }
        // The same plugin working: the reader is added.
        try cofOK(["recipients", "add", plugin.recipient, "--name", "token"], env: pluginEnv())
        // Reading through a plugin identity that hangs: a clear error, no value shown.
        let read = try cof(["get", "a", "--reveal", "--identity", plugin.identityFile], env: pluginEnv(mode: "hang"))
        XCTAssertEqual(read.status, 1, read.stderrText)
        XCTAssertTrue(read.stderrText.contains("coffertest"), read.stderrText)
        XCTAssertFalse(read.stdoutText.contains("alpha"))
    }
}
