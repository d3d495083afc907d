import XCTest
import Age
@testable import CofferKit

/// The dotenv and flat JSON readers and writers (docs/BUNDLES.md, "Plaintext
/// formats"): edge cases, round trips of awkward values, and errors that
/// never carry a value.
final class PlaintextFormatTests: XCTestCase {
    // MARK: helpers

    private func dotenv(_ text: String) throws -> [(String, String)] {
        try Dotenv.parse(SecureBytes(copying: Array(text.utf8))).map { ($0.key, string($0.value)) }
    }

    private func json(_ text: String) throws -> [(String, String)] {
        try FlatJSON.parse(SecureBytes(copying: Array(text.utf8))).map { ($0.key, string($0.value)) }
    }

    private func string(_ value: SecureBytes) -> String { value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    private func entries(_ pairs: [(String, String)]) -> [PlaintextEntry] {
        pairs.map { (key: $0.0, value: SecureBytes(copying: Array($0.1.utf8))) }
    }

    private func assertPairs(_ actual: [(String, String)], _ expected: [(String, String)],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.map(\.0), expected.map(\.0), file: file, line: line)
        XCTAssertEqual(actual.map(\.1), expected.map(\.1), file: file, line: line)
    }

    /// Values no format may mangle: quotes, `=`, `#`, `$`, backslashes, line ends, Unicode.
    private let awkward: [(String, String)] = [
        ("PLAIN", "s3cret"),
        ("EMPTY", ""),
        ("SPACES", "  padded  "),
        ("EQUALS", "a=b==c"),
        ("HASH", "x #not a comment"),
        ("DOLLAR", "$HOME ${HOME} $$ `id` $(id)"),
        ("SINGLE", "it's"),
        ("DOUBLE", "say \"hi\""),
        ("BOTH", "'\"'\""),
        ("BACKSLASH", "C:\\dir\\"),
        ("ESCAPES", "\\n is not a newline, \\\" not a quote"),
        ("NEWLINES", "line1\nline2\r\nline3\r"),
        ("TAB", "a\tb"),
        ("UNICODE", "héllo ✓ 𝄞"),
        ("CONTROL", "\u{1}\u{7f}"),
        ("_under.score", "x"),
    ]

    // MARK: dotenv

    func testDotenvReadsWhatTheLoadersRead() throws {
        let text = """
            # a comment
            \u{20}
            export EXPORTED=yes
            UNQUOTED = spaced value   # a comment
            HASHED=a#b
            STARTS=#kept
            SINGLE='literal \\n $X # kept'
            SINGLE_ESCAPES='a\\\\b\\'c'
            DOUBLE="tab\\tnl\\nq\\"bs\\\\ unknown\\$ \\x"
            MULTI="one
            two"
            AFTER="x"   # comment after a quote
            EMPTY=
            EMPTY_QUOTED=''
            LAST=end
            """
        assertPairs(try dotenv(text), [
            ("EXPORTED", "yes"), ("UNQUOTED", "spaced value"), ("HASHED", "a#b"), ("STARTS", "#kept"),
            ("SINGLE", "literal \\n $X # kept"), ("SINGLE_ESCAPES", "a\\b'c"),
            ("DOUBLE", "tab\tnl\nq\"bs\\ unknown\\$ \\x"), ("MULTI", "one\ntwo"), ("AFTER", "x"),
            ("EMPTY", ""), ("EMPTY_QUOTED", ""), ("LAST", "end"),
        ])
    }

    func testDotenvLineEndsAndByteOrderMark() throws {
        assertPairs(try dotenv("\u{FEFF}A=1\r\nB='2'\rC=\"3\"\r\n"), [("A", "1"), ("B", "2"), ("C", "3")])
        assertPairs(try dotenv(""), [])
        assertPairs(try dotenv("\n\n# only comments\n"), [])
        assertPairs(try dotenv("NO_NEWLINE=\"x\""), [("NO_NEWLINE", "x")])
        assertPairs(try dotenv("export=1\nexport  B=2"), [("export", "1"), ("B", "2")])
    }

    func testDotenvRefusesByLineNumberOnly() {
        let secret = "CANARY-dotenv-7f3a"
        let cases: [(String, PlaintextError)] = [
            ("A=1\n\(secret)\n", .notAnAssignment(line: 2)),
            ("A=1\n=\(secret)\n", .notAnAssignment(line: 2)),
            ("A=1\nB \(secret)\n", .notAnAssignment(line: 2)),
            ("A='\(secret)\nB=2\n", .unterminatedQuote(line: 1)),
            ("A=1\nB=\"\(secret)\\\"\n", .unterminatedQuote(line: 2)),
            ("A=\"x\ny\"\nB='\(secret)' \(secret)\n", .textAfterQuote(line: 3)),
            ("A=\(secret)\nA=\(secret)\n", .duplicateKey("A", line: 2)),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try dotenv(text), text.debugDescription) { error in
                XCTAssertEqual(error as? PlaintextError, expected, text.debugDescription)
                XCTAssertFalse("\(error)".contains("CANARY"), "\(error)")
            }
        }
        XCTAssertThrowsError(try Dotenv.parse(SecureBytes(copying: Array("A=1\nB=\u{ff}".utf8) + [0xFF]))) { error in
            XCTAssertEqual(error as? PlaintextError, .notUTF8(line: 2))
        }
    }

    func testDotenvQuoting() throws {
        let written = try Dotenv.encode(entries([("A", "plain $X #y"), ("B", "it's"), ("C", "a\\b"), ("D", "l1\nl2\r"), ("E", "")]))
        XCTAssertEqual(string(written), """
            A='plain $X #y'
            B="it's"
            C="a\\\\b"
            D="l1\\nl2\\r"
            E=''

            """)
    }

    /// Double quotes leave `$` and backticks live for a shell that sources
    /// the file, and escaping them would change the value for dotenv
    /// readers: a value that needs double quotes and holds either is refused.
    func testDotenvRefusesWhatAShellWouldExpandInDoubleQuotes() throws {
        for value in ["it's $(id)", "C:\\$x", "l1\n`id`", "\r$HOME"] {
            XCTAssertThrowsError(try Dotenv.encode(entries([("OK", "fine"), ("V", value)])), value.debugDescription) { error in
                XCTAssertEqual(error as? PlaintextError, .notQuotableForShell(key: "V"))
            }
        }
        XCTAssertEqual(string(try Dotenv.encode(entries([("A", "$(id) `id` ;|&<>*?~ \"x\""), ("B", "it's \\ \"x\"")]))),
                       "A='$(id) `id` ;|&<>*?~ \"x\"'\nB=\"it's \\\\ \\\"x\\\"\"\n")
    }

    func testDotenvRoundTripsAwkwardValues() throws {
        assertPairs(try Dotenv.parse(Dotenv.encode(entries(awkward))).map { ($0.key, string($0.value)) }, awkward)
    }

    func testDotenvWritesOnlyDotenvNamesAndText() {
        for key in ["nested/id", "with-dash", "1digit", ""] {
            XCTAssertThrowsError(try Dotenv.encode(entries([(key, "v")]))) { error in
                XCTAssertEqual(error as? PlaintextError, .notDotenvKey(key))
            }
        }
        XCTAssertTrue(Dotenv.isName("_a.B9"))
        XCTAssertThrowsError(try Dotenv.encode([(key: "BIN", value: SecureBytes(copying: [0x41, 0xC3]))])) { error in
            XCTAssertEqual(error as? PlaintextError, .valueNotUTF8(key: "BIN"))
        }
    }

    // MARK: JSON

    func testJSONReadsStringsWithEveryEscape() throws {
        let text = #" {"a":"x", "b/c" : "q\"b\\s\/n\nr\rt\tb\bf\f" ,"u":"\u00e9\u0041\u0000","pair":"\ud834\udd1e","raw":"héllo ✓ 𝄞"} "#
        assertPairs(try json(text), [("a", "x"), ("b/c", "q\"b\\s/n\nr\rt\tb\u{8}f\u{c}"), ("u", "éA\u{0}"), ("pair", "𝄞"), ("raw", "héllo ✓ 𝄞")])
        assertPairs(try json("{}"), [])
        assertPairs(try json("\u{FEFF}\n{\r\n}\n"), [])
        assertPairs(try json(#"{"\u0041":"1"}"#), [("A", "1")])
    }

    func testJSONRefusesAnythingButAFlatObjectOfStrings() {
        let secret = "CANARY-json-9b1c"
        let refused: [(String, String)] = [
            ("", "ends early"), ("[]", "not an object"), (#""\#(secret)""#, "not an object"),
            (#"{"a":"\#(secret)",}"#, "expected a string key"), (#"{"a":"\#(secret)" "b":"x"}"#, "expected ','"),
            (#"{"a" "\#(secret)"}"#, "expected ':'"), (#"{"a":"\#(secret)"} x"#, "text after"),
            (#"{"a":"\#(secret)"}{}"#, "text after"), (#"{"a":"\#(secret)"#, "closing quote"),
            (#"{"a":"\#(secret)\q"}"#, "unknown escape"), (#"{"a":"\#(secret)\u12"}"#, "four hex digits"),
            (#"{"a":"\#(secret)\ud834"}"#, "surrogate"), (#"{"a":"\#(secret)\udd1e"}"#, "surrogate"),
            (#"{"a":"\#(secret)\ud834\u0041"}"#, "surrogate"), ("{\"a\":\"\(secret)\n\"}", "control character"),
            (#"{'a':'\#(secret)'}"#, "expected a string key"), (#"{"a":"\#(secret)""#, "ends early"),
        ]
        for (text, reason) in refused {
            XCTAssertThrowsError(try json(text), text) { error in
                guard case PlaintextError.notFlatJSON(let said, _) = error else { return XCTFail("\(text): \(error)") }
                XCTAssertTrue(said.contains(reason), "\(text): \(said)")
                XCTAssertFalse("\(error)".contains("CANARY"), "\(error)")
            }
        }
        for (text, key) in [(#"{"n":1}"#, "n"), (#"{"o":{"x":"\#(secret)"}}"#, "o"), (#"{"l":["\#(secret)"]}"#, "l"),
                            (#"{"t":true}"#, "t"), (#"{"z":null}"#, "z")] {
            XCTAssertThrowsError(try json(text), text) { error in
                XCTAssertEqual(error as? PlaintextError, .notAString(key: key))
            }
        }
        XCTAssertThrowsError(try json("{\"a\":\"1\",\n\"a\":\"\(secret)\"}")) { error in
            XCTAssertEqual(error as? PlaintextError, .duplicateKey("a", line: 2))
        }
        XCTAssertThrowsError(try FlatJSON.parse(SecureBytes(copying: Array(#"{"a":""#.utf8) + [0xC0, 0x80, 0x22, 0x7D]))) { error in
            XCTAssertEqual(error as? PlaintextError, .notUTF8(line: 1))
        }
    }

    func testJSONRoundTripsAwkwardValues() throws {
        let written = try FlatJSON.encode(entries(awkward))
        assertPairs(try FlatJSON.parse(written).map { ($0.key, string($0.value)) }, awkward)
        XCTAssertEqual(string(try FlatJSON.encode(entries([("a/b", "x\u{1}\"")]))), "{\n  \"a/b\": \"x\\u0001\\\"\"\n}\n")
        XCTAssertEqual(string(try FlatJSON.encode([])), "{}\n")
        XCTAssertThrowsError(try FlatJSON.encode([(key: "bin", value: SecureBytes(copying: [0xFF]))])) { error in
            XCTAssertEqual(error as? PlaintextError, .valueNotUTF8(key: "bin"))
        }
    }
}
