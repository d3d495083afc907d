import XCTest
import CofferKit
import TerminalUI
@testable import coffer

/// `coffer ui`'s model: ids under their scopes, search, folding; and its
/// masked input line.
final class SecretTreeTests: XCTestCase {
    private func tree(_ ids: [String], scopes: [String], broken: String? = nil) throws -> SecretTree {
        try SecretTree(ids: ids.map(SecretID.init), scopes: scopes.map(Scope.init)) { scope in
            if scope.directory == broken { throw VaultError.noRecipients(scope: scope) }
            return []
        }
    }

    private func shown(_ rows: [SecretTree.Row], _ tree: SecretTree) -> [String] {
        rows.map { row in
            switch row {
            case .scope(let g, let n): return "[\(tree.groups[g].scope) \(n)]"
            case .secret(let id, _): return id.value
            }
        }
    }

    func testIdsGoUnderTheirNearestScope() throws {
        let t = try tree(["a", "dev/k", "prod/db/pw", "prod/eu/z", "prod/x", "prodx/y"], scopes: ["prod/eu", "/", "prod"])
        XCTAssertEqual(shown(t.rows(matching: "", collapsed: []), t),
                       ["[/ 3]", "a", "dev/k", "prodx/y", "[prod 2]", "prod/db/pw", "prod/x", "[prod/eu 1]", "prod/eu/z"])
        XCTAssertEqual(t.groups.map(\.ids.count), [3, 2, 1])
        XCTAssertEqual(t.count, 6)
    }

    func testTheRootScopeIsAlwaysThere() throws {
        let t = try tree([], scopes: ["team"])
        XCTAssertEqual(shown(t.rows(matching: "", collapsed: []), t), ["[/ 0]", "[team 0]"])
    }

    func testSearchIgnoresCaseAndShowsOnlyScopesWithMatches() throws {
        let t = try tree(["app/Token", "app/other", "ops/token-2", "ops/x"], scopes: ["/", "ops"])
        XCTAssertEqual(shown(t.rows(matching: "TOK", collapsed: []), t), ["[/ 1]", "app/Token", "[ops 1]", "ops/token-2"])
        XCTAssertEqual(shown(t.rows(matching: "x", collapsed: []), t), ["[ops 1]", "ops/x"])
        XCTAssertEqual(t.rows(matching: "nothing", collapsed: []), [])
    }

    func testFoldedScopesShowOnlyTheirHeadingUnlessSearched() throws {
        let t = try tree(["a", "ops/b"], scopes: ["/", "ops"])
        let ops = try Scope("ops")
        XCTAssertEqual(shown(t.rows(matching: "", collapsed: [ops]), t), ["[/ 1]", "a", "[ops 0]"])
        XCTAssertEqual(shown(t.rows(matching: "b", collapsed: [ops]), t), ["[ops 1]", "ops/b"])
    }

    func testAnUnreadableRecipientsFileIsShownNotFatal() throws {
        let t = try tree(["ops/b"], scopes: ["/", "ops"], broken: "ops")
        XCTAssertNil(t.groups[1].readers)
        XCTAssertNotNil(t.groups[1].problem)
        XCTAssertEqual(t.groups[0].readers, [])
    }

    func testMaskedInputKeepsBytesAndErasesWholeCharacters() {
        let input = LineInput("Value: ", masked: true)
        for key in [Key.character("a"), .character("é"), .character("b"), .backspace, .backspace] { XCTAssertTrue(input.edit(key)) }
        XCTAssertEqual(input.value().withUnsafeBytes { Array($0) }, Array("a".utf8))
        _ = input.edit(.character("€"))
        XCTAssertEqual(input.value().withUnsafeBytes { Array($0) }, Array("a€".utf8))
        // Drawn, it is only the label and a note: no characters, no length.
        let drawn = input.spans(width: 60).map { span -> String in
            if case .text(let text, _) = span { return text }
            return "SECRET"
        }.joined()
        XCTAssertEqual(drawn, "Value: (typing is hidden)")
        _ = input.edit(.control("u"))
        XCTAssertEqual(input.value().count, 0)
        XCTAssertFalse(input.edit(.enter), "Enter is the caller's")
    }

    func testPastesGoIntoTheAnswerWhole() throws {
        var decoder = KeyDecoder()
        let keys = decoder.keys(from: Array("\u{1B}[200~line one\rline two\r\n\u{1B}[201~".utf8))
        guard keys.count == 1, case .paste(let pasted) = keys[0] else { return XCTFail("one paste, got \(keys)") }
        let value = LineInput("Value: ", masked: true)
        XCTAssertNil(value.paste(pasted))
        XCTAssertEqual(value.value().withUnsafeBytes { Array($0) }, Array("line one\nline two\n".utf8),
                       "a value keeps its lines, each break as LF (terminals paste them as CR)")
        let id = LineInput("New secret id: ", text: "app/")
        XCTAssertNotNil(id.paste(pasted), "an id is one line")
        XCTAssertEqual(id.text, "app/")
        let oneLine = decoder.keys(from: Array("\u{1B}[200~db/password\n\u{1B}[201~".utf8))
        guard case .paste(let line)? = oneLine.first else { return XCTFail() }
        XCTAssertNil(id.paste(line))
        XCTAssertEqual(id.text, "app/db/password")
    }

    func testAValueTooLongIsRefusedNotCut() {
        let input = LineInput("Value: ", masked: true)
        for _ in 0..<LineInput.maskedLimit { _ = input.edit(.character("a")) }
        XCTAssertNil(input.refusal)
        _ = input.edit(.character("b"))
        XCTAssertNotNil(input.refusal, "one byte more than the limit is refused at Enter")
    }

    func testLongLinesWrapAtSpaces() {
        XCTAssertEqual(KeyManager.wrap("one two three four", width: 9), ["one two", "three", "four"])
        XCTAssertEqual(KeyManager.wrap("  ab cd", width: 5), ["  ab", "  cd"])
    }
}
