import Foundation
import XCTest

/// docs/LIBRARY.md's example program (Examples/ResolveConfig), built beside
/// coffer, run against a private vault: it resolves a config and hands the
/// password on through a pipe, printing nothing but redacted summaries.
final class LibraryExampleTests: VaultE2ECase {
    func testTheExampleResolvesAConfig() throws {
        let example = URL(fileURLWithPath: coffer).deletingLastPathComponent().appendingPathComponent("coffer-example-resolve").path
        guard FileManager.default.isExecutableFile(atPath: example) else {
            return XCTFail("\(example) was not built (swift build builds every target)")
        }
        try initVault()
        let password = canary("example") + "\"\n"
        try cofOK(["set", "prod/db/password", "--stdin"], stdin: Data(password.utf8))
        let config = try write("config.json", #"{"database": {"host": "db.internal", "password": "coffer:prod/db/password"}}"#)
        let received = path("received")
        let result = try run(example, [config, "--", "/bin/sh", "-c", "cat > \"$0\"", received], environment: vaultEnvironment())
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(try String(contentsOfFile: received, encoding: .utf8), password)
        XCTAssertEqual(result.stdoutText, """
            ResolvedNode(<redacted>)
            connecting to db.internal with a password of \(password.utf8.count) bytes: SecureBytes(<redacted>, \(password.utf8.count) bytes)
            prod/db/password read directly: the same value

            """)
        XCTAssertFalse((result.stdoutText + result.stderrText).contains(String(password.prefix(20))))

        // A missing reference: named, and the command never runs.
        try write("bad.json", #"{"database": {"host": "h", "password": "coffer:prod/db/gone"}}"#)
        let failed = try run(example, [path("bad.json"), "--", "/bin/sh", "-c", "echo ran > \"$0\"", path("ran")], environment: vaultEnvironment())
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderrText.contains("cannot read prod/db/gone (missing)"), failed.stderrText)
        XCTAssertFalse(exists("ran"))
    }
}
