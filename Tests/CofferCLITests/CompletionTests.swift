import Foundation
import XCTest

/// Shell completion of secret ids: the generated scripts call the binary back
/// as `coffer ---completion SUBCOMMAND -- positional@N WORD-INDEX CURSOR WORDS…`
/// (ArgumentParser's custom-completion protocol); the answer is the vault's ids.
final class CompletionTests: VaultE2ECase {
    private let ids = ["dev/api/token", "prod/api/token", "prod/db/password"]
    private let subcommands = ["get", "set", "rm", "mv", "history", "rollback", "restore"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        try initVault()
        try cofOK(["set"] + ids.map { "\($0)=value-of-\($0)" })
    }

    /// What the scripts run for `coffer SUBCOMMAND [EXTRA…] WORD<TAB>`, the cursor at the end of WORD.
    private func complete(_ subcommand: String, _ extra: [String] = [], word: String = "",
                          env: [String: String] = [:]) throws -> CommandResult {
        let words = ["coffer", subcommand] + extra + [word]
        return try cof(["---completion", subcommand, "--", "positional@0", String(words.count - 1), String(word.count)] + words,
                       env: env)
    }

    private func lines(_ result: CommandResult) -> [String] {
        result.stdoutText.split(separator: "\n").map(String.init)
    }

    func testEveryIdArgumentCompletesTheVaultsIds() throws {
        for subcommand in subcommands {
            let result = try complete(subcommand)
            XCTAssertEqual(result.status, 0, "\(subcommand): \(result.stderrText)")
            XCTAssertEqual(lines(result), ids, subcommand)
            XCTAssertEqual(result.stderrText, "", subcommand)
        }
        XCTAssertEqual(lines(try complete("get", word: "prod/")), ["prod/api/token", "prod/db/password"])
        // Ids only: no value ever appears in a completion.
        for id in ids { XCTAssertFalse(try complete("get").stdoutText.contains("value-of-\(id)")) }
    }

    func testTheVaultNamedOnTheLineIsUsed() throws {
        let noVault = ["COFFER_VAULT": ""]
        XCTAssertEqual(lines(try complete("get", ["--vault", vaultDir], env: noVault)), ids)
        XCTAssertEqual(lines(try complete("history", ["--vault=\(vaultDir)"], word: "dev", env: noVault)), ["dev/api/token"])
    }

    func testNoVaultCompletesNothingQuietly() throws {
        let result = try complete("get", env: ["COFFER_VAULT": path("nowhere")])
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(result.stdoutText, "")
        XCTAssertEqual(result.stderrText, "", "completion must not print into the shell")
    }

    func testGeneratedScriptsCallTheCustomCompletion() throws {
        let bash = try cofOK(["--generate-completion-script", "bash"]).stdoutText
        for subcommand in subcommands {
            XCTAssertTrue(bash.contains("---completion \(subcommand) -- positional@0"), "bash script for \(subcommand)")
        }
        for shell in ["zsh", "fish"] {
            let script = try cofOK(["--generate-completion-script", shell]).stdoutText
            XCTAssertTrue(script.contains("---completion get -- positional@0"), "\(shell) script")
        }
    }

    /// The bash script itself, sourced and asked for `coffer get prod/d<TAB>`.
    func testBashCompletesThroughTheGeneratedScript() throws {
        let bash = try requireTool("bash")
        let script = try write("coffer.bash", try cofOK(["--generate-completion-script", "bash"]).stdout)
        let binDirectory = URL(fileURLWithPath: coffer).deletingLastPathComponent().path
        let driver = """
            source "$1"
            COMP_WORDS=(coffer get prod/d); COMP_CWORD=2; COMP_LINE="coffer get prod/d"; COMP_POINT=${#COMP_LINE}
            _coffer
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try run(bash, ["-c", driver, "bash", script],
                             environment: vaultEnvironment(["PATH": binDirectory + ":/usr/bin:/bin"]))
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(lines(result), ["prod/db/password"])
    }
}
