import GitStore
import XCTest

final class ObjectIDTests: XCTestCase {
    func testHexRoundTripsAndIsLowercase() throws {
        let id = try XCTUnwrap(ObjectID(hex: "E69DE29BB2D1D6434B8B29AE775AD8C2E48C5391"))
        XCTAssertEqual(id.bytes.count, 20)
        XCTAssertEqual(id.bytes.first, 0xe6)
        XCTAssertEqual(id.bytes.last, 0x91)
        XCTAssertEqual(id.hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        XCTAssertEqual(id.description, id.hex)
        XCTAssertEqual(ObjectID(hex: id.hex), id)
    }

    func testRejectsWrongLengthAndNonHex() {
        XCTAssertNil(ObjectID(hex: ""))
        XCTAssertNil(ObjectID(hex: String(repeating: "a", count: 39)))
        XCTAssertNil(ObjectID(hex: String(repeating: "a", count: 41)))
        XCTAssertNil(ObjectID(hex: String(repeating: "g", count: 40)))
        XCTAssertNil(ObjectID(hex: String(repeating: "é", count: 20)))
    }
}
