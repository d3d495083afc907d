import Foundation
import XCTest

/// README.md's quick start runs as written: the fenced block after
/// `<!-- quickstart -->`, under `bash -euo pipefail`, in an empty directory
/// with a throwaway HOME and nothing else from the caller's environment, the
/// binary under test first on PATH (the installed one when `.ci/run`
/// installed it, else the debug build).
final class QuickstartTests: CLITestCase {
    static let readme = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md")

    /// The lines of the first fenced block after the marker.
    static func quickstartBlock(_ text: String) -> String? {
        let lines = text.components(separatedBy: "\n")
        guard let marker = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "<!-- quickstart -->" }),
              let open = lines[(marker + 1)...].firstIndex(where: { $0.hasPrefix("```") }),
              lines[(marker + 1)..<open].allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }),
              let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else { return nil }
        return lines[(open + 1)..<close].joined(separator: "\n") + "\n"
    }

    func testTheQuickStartRunsAsWritten() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        let block = try XCTUnwrap(Self.quickstartBlock(readme),
                                  "README.md has no ```sh block right after <!-- quickstart -->")
        XCTAssertTrue(block.contains("coffer init"), "the quick start starts a vault")
        let binary: String
        switch Tools.cofferUnderTest {
        case .success(let found): binary = found
        case .failure(let error): XCTFail(error.description); throw error
        }
        let script = try write("quickstart.sh", block)
        let home = path("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        // Only what a fresh login would have: no XDG_CONFIG_HOME, COFFER_VAULT or COFFER_IDENTITY from here.
        let environment = [
            "PATH=\(URL(fileURLWithPath: binary).deletingLastPathComponent().path):/usr/local/bin:/usr/bin:/bin",
            "HOME=\(home)", "USER=tester", "LOGNAME=tester", "LC_ALL=C", "NO_COLOR=1",
            "GIT_CONFIG_NOSYSTEM=1", "COFFER_TEST_SCRYPT_WORK_FACTOR=\(CLITestCase.testWorkFactor)",
        ]
        // A new session without a controlling terminal: nothing can prompt.
        let session = Tools.which("setsid").map { [$0, "-w"] } ?? []
        let command = session + ["/usr/bin/env", "-i"] + environment + ["bash", "-euo", "pipefail", script]
        let result = try run(command[0], Array(command.dropFirst()))
        XCTAssertEqual(result.status, 0, "the quick start failed:\n\(result.stderrText)")
        XCTAssertTrue(result.stdoutText.contains("prod/db/password  ******** (6 bytes)"), result.stdoutText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.config/coffer/identity"), "the identity is in HOME")

        // Afterwards, with the same binary and identity: the ids and the rolled-back value.
        let vault = path("my-vault")
        let after = ["/usr/bin/env", "-i"] + environment + [binary]
        let list = try succeed(after[0], Array(after.dropFirst()) + ["list", "--vault", vault])
        XCTAssertEqual(list.stdoutText.split(separator: "\n"), ["ID", "prod/api/key", "prod/db/password"])
        let value = try succeed(after[0], Array(after.dropFirst()) + ["get", "prod/db/password", "--reveal", "--yes", "--vault", vault])
        XCTAssertTrue(value.stdout == Data("s3cret".utf8), "rollback --to v1 brings back the first value")
        let history = try succeed(after[0], Array(after.dropFirst()) + ["history", "prod/db/password", "--vault", vault])
        XCTAssertEqual(history.stdoutText.split(separator: "\n").count, 4, "a header and three versions: " + history.stdoutText)
    }

    func testTheMarkerFindsOnlyTheBlockAfterIt() {
        let text = "```sh\nnot this\n```\n<!-- quickstart -->\n```sh\nthis\nand this\n```\n```sh\nnor this\n```\n"
        XCTAssertEqual(Self.quickstartBlock(text), "this\nand this\n")
        XCTAssertNil(Self.quickstartBlock("```sh\nno marker\n```\n"))
        XCTAssertNil(Self.quickstartBlock("<!-- quickstart -->\nprose first\n```sh\nx\n```\n"))
    }
}
