import XCTest
@testable import TerminalUI

final class KeyDecoderTests: XCTestCase {
    private func keys(_ reads: [UInt8]...) -> [Key] {
        var decoder = KeyDecoder()
        return reads.flatMap { decoder.keys(from: $0) }
    }

    func testPrintableAndControls() {
        XCTAssertEqual(keys(Array("a/Q".utf8)), [.character("a"), .character("/"), .character("Q")])
        XCTAssertEqual(keys([0x0D, 0x7F, 0x09, 0x03, 0x15]), [.enter, .backspace, .tab, .control("c"), .control("u")])
    }

    func testCursorKeysInBothForms() {
        XCTAssertEqual(keys(Array("\u{1B}[A\u{1B}[B\u{1B}[C\u{1B}[D".utf8)), [.up, .down, .right, .left])
        XCTAssertEqual(keys(Array("\u{1B}OA\u{1B}OH\u{1B}OF".utf8)), [.up, .home, .end])
        XCTAssertEqual(keys(Array("\u{1B}[5~\u{1B}[6~\u{1B}[1~\u{1B}[4~\u{1B}[3~".utf8)), [.pageUp, .pageDown, .home, .end, .delete])
    }

    func testModifiedAndUnknownSequencesAreNotTypedText() {
        // Ctrl-Up (1;5A) is an up; an unknown CSI (F5, 15~) is dropped whole.
        XCTAssertEqual(keys(Array("\u{1B}[1;5A\u{1B}[15~x".utf8)), [.up, .character("x")])
        // A long parameter does not overflow.
        XCTAssertEqual(keys(Array("\u{1B}[99999999999999999999~y".utf8)), [.character("y")])
    }

    func testAltWithAKeyIsNeitherEscapeNorTheKey() {
        // Option-as-Meta typing `@` inside a value must not cancel the prompt and type the rest elsewhere.
        XCTAssertEqual(keys(Array("a\u{1B}@b\u{1B}d".utf8)), [.character("a"), .character("b")])
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.keys(from: [0x1B]), [])
        XCTAssertEqual(decoder.flush(), [.escape], "Escape, when nothing follows it within the wait")
        XCTAssertEqual(decoder.keys(from: Array("q".utf8)), [.character("q")])
    }

    func testACutPasteIsDroppedWithItsRest() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.keys(from: Array("\u{1B}[200~half of a val".utf8)), [])
        XCTAssertEqual(decoder.flush(), [], "a paste cut short is dropped, not handed on half")
        XCTAssertEqual(decoder.keys(from: Array("ue dy\u{1B}[201~j".utf8)), [.character("j")], "its rest is never keys")
        XCTAssertEqual(decoder.keys(from: Array("\u{1B}[200~x".utf8)), [])
        _ = decoder.flush()
        decoder.quiet()
        XCTAssertEqual(decoder.keys(from: Array("k".utf8)), [.character("k")], "once quiet, keys are keys again")
    }

    func testPastesAreOneEventEvenAcrossReads() {
        var decoder = KeyDecoder()
        var keys = decoder.keys(from: Array("x\u{1B}[200~q\r".utf8))
        XCTAssertEqual(keys, [.character("x")])
        XCTAssertTrue(decoder.isWaiting)
        keys = decoder.keys(from: Array("d\u{1B}[20".utf8))
        XCTAssertEqual(keys, [])
        keys = decoder.keys(from: Array("1~j".utf8))
        guard keys.count == 2, case .paste(let pasted) = keys[0] else { return XCTFail("\(keys)") }
        XCTAssertEqual(pasted.bytes.withUnsafeBytes { Array($0) }, Array("q\rd".utf8))
        XCTAssertFalse(pasted.truncated)
        XCTAssertEqual(keys[1], .character("j"))
    }

    func testAnEscapeSequenceSplitAcrossReadsWaits() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.keys(from: [0x1B, UInt8(ascii: "[")]), [])
        XCTAssertTrue(decoder.isWaiting)
        XCTAssertEqual(decoder.keys(from: Array("B".utf8)), [.down])
        XCTAssertEqual(decoder.keys(from: [0x1B]), [])
        XCTAssertEqual(decoder.flush(), [.escape], "no more bytes came: the Escape key")
        // An old-style mouse report is skipped whole.
        XCTAssertEqual(decoder.keys(from: Array("\u{1B}[M d!k".utf8)), [.character("k")])
    }

    func testUTF8SplitAcrossReads() {
        let e = Array("é€".utf8)
        XCTAssertEqual(keys(Array(e[0..<1]), Array(e[1..<3]), Array(e[3...])), [.character("é"), .character("€")])
        // Invalid bytes and C1 controls never become characters.
        XCTAssertEqual(keys([0xFF, 0xC2, 0x9B, 0x41]), [.character("A")])
    }
}
