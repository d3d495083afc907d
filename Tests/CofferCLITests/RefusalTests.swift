import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Runs every line of refusals.txt (argv → exit code → stderr pattern)
/// against one vault, as age keeps its CLI cases in testscript files.
final class RefusalTests: VaultE2ECase {
    static let table = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("refusals.txt").path

    struct Refusal {
        let line: Int
        let arguments: [String]
        let exit: Int32
        let stderr: NSRegularExpression
    }

    func testEveryRefusalInTheTable() throws {
        let existingValue = canary("existing")
        let goneValue = canary("gone")
        try initVault()
        let otherValue = canary("other")
        try cofOK(["set", "existing/id=\(existingValue)", "gone/id=\(goneValue)", "other/id=\(otherValue)"])
        try cofOK(["rm", "gone/id"])
        let other = try cofferKeygen("other-identity")
        let open = path("open-identity")
        try FileManager.default.copyItem(atPath: identityFile, toPath: open)
        XCTAssertEqual(chmod(open, 0o644), 0)
        try FileManager.default.createDirectory(atPath: path("plain"), withIntermediateDirectories: false)
        let placeholders: [String: String] = [
            "$VAULT": vaultDir, "$PLAIN": path("plain"), "$NOWHERE": path("nowhere"), "$OTHER": other.identityFile,
            "$OTHERKEY": other.recipient, "$KEY": other.secret, "$OPEN": open, "$NOID": path("no-identity"),
            "$LONG": String(repeating: "a", count: 256), "$FILE": try write("value.txt", "v"), "$OUT": path("out"),
        ]
        let refusals = try Self.parse(String(contentsOfFile: Self.table, encoding: .utf8), placeholders: placeholders)
        XCTAssertGreaterThan(refusals.count, 50, "refusals.txt was not read")

        let head = try self.head()
        let before = snapshot()
        for refusal in refusals {
            let result = try cof(refusal.arguments)
            let shown = "refusals.txt:\(refusal.line): coffer \(refusal.arguments.joined(separator: " ").prefix(80))"
            XCTAssertEqual(result.status, refusal.exit, "\(shown): exit \(result.status); stderr: \(result.stderrText)")
            let stderr = result.stderrText
            XCTAssertNotNil(refusal.stderr.firstMatch(in: stderr, range: NSRange(stderr.startIndex..., in: stderr)),
                            "\(shown): stderr does not match /\(refusal.stderr.pattern)/:\n\(stderr)")
            XCTAssertTrue(stderr.hasPrefix("coffer: error: "), "\(shown): \(stderr)")
            XCTAssertEqual(result.stdoutText, "", "\(shown) printed on stdout")
            for value in [existingValue, goneValue, otherValue] {
                XCTAssertFalse(stderr.contains(value), "\(shown) shows a value")
            }
            assertNoLeak(result, plaintext: nil, secrets: [other.secret])
            let controls = result.stderr.filter { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }
            XCTAssertTrue(controls.isEmpty, "\(shown): raw control bytes in stderr")
        }
        XCTAssertFalse(exists("out"), "a refused command wrote its output file")
        XCTAssertEqual(try self.head(), head, "a refused command committed")
        assertSameSnapshot(before, snapshot(), "the refused commands")
    }

    /// `ARGUMENTS | EXIT | STDERR` lines; `#` comments and blank lines skipped.
    static func parse(_ text: String, placeholders: [String: String]) throws -> [Refusal] {
        var refusals: [Refusal] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let columns = line.components(separatedBy: " | ")
            guard columns.count >= 3, let exit = Int32(columns[1].trimmingCharacters(in: .whitespaces)) else {
                throw TestSetupError("refusals.txt:\(index + 1): expected ARGUMENTS | EXIT | STDERR")
            }
            let pattern = columns[2...].joined(separator: " | ").trimmingCharacters(in: .whitespaces)
                .replacingOccurrences(of: "\\n", with: "\n")
            let arguments = words(columns[0]).map { word in
                placeholders.keys.sorted { $0.count > $1.count }.reduce(word) { $0.replacingOccurrences(of: $1, with: placeholders[$1]!) }
            }
            refusals.append(Refusal(line: index + 1, arguments: arguments, exit: exit,
                                    stderr: try NSRegularExpression(pattern: pattern)))
        }
        return refusals
    }

    /// Space-separated words; 'single quotes' keep spaces.
    private static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false, started = false
        for character in text {
            if character == "'" {
                quoted.toggle()
                started = true
            } else if character == " " && !quoted {
                if started { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        if started { words.append(current) }
        return words
    }
}
