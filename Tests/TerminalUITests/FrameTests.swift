import XCTest
import Age
@testable import TerminalUI

final class FrameTests: XCTestCase {
    private func rows(_ columns: Int, _ spans: [Span], fill: Style = []) -> String {
        var frame = Frame(columns: columns, rows: 1)
        frame.set(0, spans, fill: fill)
        return frame.plainText()[0]
    }

    func testRowsAreClippedWithAnEllipsisAndPadded() {
        XCTAssertEqual(rows(8, [.text("abc")]), "abc     ")
        XCTAssertEqual(rows(8, [.text("abcdefgh")]), "abcdefgh")
        XCTAssertEqual(rows(8, [.text("abcdefghi")]), "abcdefg…")
        XCTAssertEqual(rows(8, [.text("abcd"), .text("efghij")]), "abcdefg…")
    }

    func testWideCharactersCountTwoColumns() {
        XCTAssertEqual(rows(6, [.text("日本語")]), "日本語")
        XCTAssertEqual(rows(5, [.text("日本語")]), "日本…")
    }

    func testControlCharactersAreEscapedNotSent() {
        let drawn = rows(40, [.text("a\u{1B}[2Jb\u{202E}c")])
        XCTAssertTrue(drawn.hasPrefix("a\\x1b[2Jb\\u{202e}c"), drawn)
        var frame = Frame(columns: 40, rows: 1)
        frame.set(0, [.text("x\u{1B}]0;title\u{07}")])
        let bytes = frame.render(colour: true).withUnsafeBytes { Array($0) }
        // The only ESCs are the renderer's own CSI sequences.
        for (i, byte) in bytes.enumerated() where byte == 0x1B { XCTAssertEqual(bytes[i + 1], UInt8(ascii: "[")) }
        XCTAssertFalse(bytes.contains(0x07))
    }

    func testSecretsAreDrawnEscapedFromTheirBuffer() {
        let value = SecureBytes(copying: Array("pw\n\\\u{1B}é".utf8) + [0xFF])
        XCTAssertEqual(rows(30, [.text("= "), .secret(value)]).trimmingCharacters(in: .whitespaces), "= pw\\x0a\\\\\\x1bé\\u{fffd}")
        XCTAssertEqual(rows(6, [.secret(value)]), "pw\\x0…")
    }

    func testColoursOnlyWhenWanted() {
        var frame = Frame(columns: 10, rows: 1)
        frame.set(0, [.text("ok", [.green, .bold])], fill: .reverse)
        let plain = frame.render(colour: false).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let coloured = frame.render(colour: true).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        XCTAssertFalse(plain.contains("32"), plain)
        XCTAssertTrue(plain.contains("\u{1B}[1m") && plain.contains("\u{1B}[7m"), "bold and reverse are no colours")
        XCTAssertTrue(coloured.contains("\u{1B}[1;32m"), coloured)
    }
}
