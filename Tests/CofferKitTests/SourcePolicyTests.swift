import Foundation
import XCTest

/// The library is one implementation behind every front end: it never
/// prints, reads the environment or the current directory, and builds in
/// the Swift 6 language mode. Read from the source tree beside this file.
final class SourcePolicyTests: XCTestCase {
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func sources(_ module: String) throws -> [(path: String, text: String)] {
        let dir = Self.packageRoot.appendingPathComponent("Sources/\(module)")
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: dir.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        XCTAssertFalse(files.isEmpty, "no sources under \(dir.path)")
        return try files.map { ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)) }
    }

    func testCofferKitNeitherPrintsNorReadsTheEnvironmentOrCurrentDirectory() throws {
        let forbidden = [
            #"\bprint\("#, #"\bdebugPrint\("#, #"FileHandle\.standard"#, #"\bfputs\("#, #"\bputs\("#,
            #"STDOUT_FILENO|STDERR_FILENO|\bstdout\b|\bstderr\b"#,
            #"\bgetenv\("#, #"\bsecure_getenv\("#, #"\benviron\b"#, #"ProcessInfo"#,
            #"\bgetcwd\("#, #"currentDirectoryPath"#, #"\bget_current_dir_name\("#,
        ].map { try! NSRegularExpression(pattern: $0) }
        for (path, text) in try sources("CofferKit") {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = String(line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false)[0])
                for pattern in forbidden where pattern.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil {
                    XCTFail("Sources/CofferKit/\(path):\(number + 1) uses \(pattern.pattern): \(line)")
                }
            }
        }
    }

    func testPackageUsesTheSwift6LanguageMode() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let tools = try XCTUnwrap(manifest.split(separator: "\n").first)
        XCTAssertTrue(tools.hasPrefix("// swift-tools-version:6") || tools.hasPrefix("// swift-tools-version: 6"), String(tools))
        XCTAssertFalse(manifest.contains("swiftLanguageMode(.v5)") || manifest.contains("swiftLanguageVersions"),
                       "a target opts out of the Swift 6 language mode")
    }
}
