import XCTest
import Age
import Posix
@testable import CofferKit

/// The small text forms written by hand rather than with the standard
/// library's generic helpers (kept off `get`'s start-up path).
final class TextFormsTests: XCTestCase {
    func testUTCTimesAsISO8601() {
        XCTAssertEqual(UTCTime.iso8601(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTime.iso8601(1_795_874_409), "2026-11-28T14:00:09Z")
        XCTAssertEqual(UTCTime.iso8601(951_827_696), "2000-02-29T12:34:56Z")
        XCTAssertEqual(UTCTime.iso8601(253_402_300_799), "9999-12-31T23:59:59Z")
        for seconds in [0, 59, 86_399, 951_827_696, 1_795_874_409] {
            XCTAssertEqual(UTCTime.parse(UTCTime.iso8601(seconds)), seconds)
        }
    }

    func testHexAndJoinedPaths() {
        XCTAssertEqual(Text.hex([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
        XCTAssertEqual(Text.hex([UInt8]()), "")
        XCTAssertEqual(Text.hex(Digest.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Paths.normalized("/a/./b/../c//d/"), "/a/c/d")
        XCTAssertEqual(Paths.normalized("/../.."), "/")
        XCTAssertEqual(Paths.joined(["a", "b", "c"][...]), "a/b/c")
        XCTAssertEqual(Paths.joined(["", "b"][...]), "/b")
        XCTAssertEqual(Paths.joined([Substring]()[...]), "")
    }

    func testAuditLineNamesItsIdsBySpaces() {
        let event = AuditEvent(action: "reveal:get", ids: ["a/b", "c"], commit: nil, vault: "/v", user: "u", time: 0)
        let line = AuditLine.encode(event, sequence: 1, previous: AuditLine.genesis)
        XCTAssertTrue(line.contains(#","ids":"a/b c","#), line)
        XCTAssertTrue(line.hasPrefix(#"{"seq":"1","time":"1970-01-01T00:00:00Z","#), line)
        XCTAssertEqual(AuditLine.hash(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// A clone file's text is parsed again whenever it differs from the
    /// last one parsed (or comes from another path); a failed parse is not kept.
    func testParsedTextIsKeptOnlyForTheSameText() throws {
        let cache = ParsedText<Int>()
        var parses = 0
        func parse(_ text: String) throws -> Int {
            parses += 1
            guard let value = Int(text) else { throw VaultError.unsafePath(path: text) }
            return value
        }
        XCTAssertEqual(try cache.value(path: "/a", text: "1", parse: parse), 1)
        XCTAssertEqual(try cache.value(path: "/a", text: "1", parse: parse), 1)
        XCTAssertEqual(parses, 1)
        XCTAssertEqual(try cache.value(path: "/a", text: "2", parse: parse), 2)
        XCTAssertEqual(try cache.value(path: "/b", text: "2", parse: parse), 2)
        XCTAssertEqual(parses, 3)
        XCTAssertThrowsError(try cache.value(path: "/b", text: "x", parse: parse))
        XCTAssertThrowsError(try cache.value(path: "/b", text: "x", parse: parse))
        XCTAssertEqual(parses, 5)
        XCTAssertEqual(try cache.value(path: "/b", text: "2", parse: parse), 2)
    }
}
