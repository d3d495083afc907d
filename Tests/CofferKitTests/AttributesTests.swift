import Foundation
import XCTest
@testable import CofferKit

/// `.gitattributes` keeps git from rewriting sealed files: `verify` reports
/// one that no longer does, and `--fix` restores the root one.
final class AttributesTests: VaultTestCase {
    private func commitAttributes(_ text: String, at relative: String = ".gitattributes") throws {
        try write(relative, text)
        try git("add", relative)
        try git("commit", "-qm", "attributes")
    }

    private func attributeDrift() throws -> [Drift] {
        try vault.verify(identities: [me]).drift.filter { if case .attributesUnprotected = $0 { return true } else { return false } }
    }

    func testANewVaultProtectsSealedFiles() throws {
        try set(["a": "1"])
        XCTAssertTrue(try String(contentsOfFile: root + "/.gitattributes", encoding: .utf8).contains("*.age diff=coffer -text merge=binary"))
        XCTAssertEqual(try attributeDrift(), [])
    }

    func testAnOldOrWeakenedRootFileIsReportedAndFixed() throws {
        try set(["a": "1"])
        // What vaults made before this change have, and a later line that turns conversion back on.
        for text in ["*.age diff=coffer\n", Attributes.text + "* text eol=crlf\n", "# user's\n*.txt text\n"] {
            try commitAttributes(text)
            XCTAssertEqual(try attributeDrift(), [.attributesUnprotected(path: ".gitattributes")], text)
            let report = try vault.verify(identities: [me])
            let outcome = try vault.apply(try vault.planFix(report, me: mine), identities: [me])
            XCTAssertNotNil(outcome.commit, text)
            XCTAssertEqual(try attributeDrift(), [], "fixed: " + text)
            let fixed = try String(contentsOfFile: root + "/.gitattributes", encoding: .utf8)
            XCTAssertFalse(fixed.contains("eol=crlf"), fixed)
            XCTAssertEqual(try git("status", "--porcelain"), "")
        }
        // The user's own lines survive the repair.
        XCTAssertTrue(try String(contentsOfFile: root + "/.gitattributes", encoding: .utf8).contains("# user's"))
    }

    func testANestedFileThatConvertsIsReportedNotRewritten() throws {
        try set(["prod/a": "1"])
        try commitAttributes("*.age text eol=crlf\n", at: "prod/.gitattributes")
        let drift = try attributeDrift()
        XCTAssertEqual(drift, [.attributesUnprotected(path: "prod/.gitattributes")])
        XCTAssertFalse(drift[0].isFixable, "a nested file is the user's to remove")
    }

    /// Proved with the stock git CLI: a clone that asks for CRLF conversion
    /// still checks sealed files out byte for byte.
    func testGitNeverConvertsASealedFile() throws {
        try set(["a": "line\n"])
        let sealed = try Data(contentsOf: URL(fileURLWithPath: root + "/a.age"))
        func checkout(_ attributes: String, _ name: String) throws -> Data {
            try commitAttributes(attributes)
            let clone = directory + "/" + name
            try git("clone", "-q", "-c", "core.autocrlf=true", root, clone, in: directory)
            return try Data(contentsOf: URL(fileURLWithPath: clone + "/a.age"))
        }
        // A pushed line asking for CRLF text: before coffer's line it loses...
        XCTAssertEqual(try checkout("* text eol=crlf\n" + Attributes.text, "protected"), sealed)
        // ...while without coffer's -text it wins and the checkout is no longer the sealed file.
        XCTAssertNotEqual(try checkout("*.age diff=coffer\n* text eol=crlf\n", "unprotected"), sealed)
    }
}
