import XCTest
import Age
@testable import CofferKit

/// `coffer render`'s use case in-process: reference syntax, the JSON tree,
/// text and dotenv templates, resolution all or nothing, readability
/// without decryption.
final class ReferenceTests: VaultTestCase {
    private func render(_ template: String, _ format: ConfigFormat) throws -> String {
        let document = try Array(template.utf8).withUnsafeBytes { try ConfigDocument(parsing: $0, format: format) }
        let values = try vault.resolve(try document.references(), identities: [me])
        return string(try document.rendered(with: values))
    }

    func testTemplateSyntax() throws {
        XCTAssertEqual(try Template(value: "coffer:a/b", at: "$").pieces, [.reference(id("a/b"))])
        XCTAssertTrue(try Template(value: "coffer:a/b", at: "$").isWholeReference)
        XCTAssertEqual(try Template(interpolating: "x${coffer:a}y${coffer:b/c}\n", at: "line 1").pieces,
                       [.text("x"), .reference(id("a")), .text("y"), .reference(id("b/c")), .text("\n")])
        XCTAssertEqual(try Template(interpolating: "$${coffer:a} $$HOME ${x}", at: "line 1").pieces, [.text("${coffer:a} $$HOME ${x}")])
        XCTAssertEqual(try Template(value: "say coffer:a", at: "$").ids, [])
        XCTAssertEqual(try Template(value: "coffer: the vault", at: "$").pieces, [.text("coffer: the vault")])
        for bad in ["${coffer:a", "${coffer:../x}", "${coffer:}", "${coffer:a\n}"] {
            XCTAssertThrowsError(try Template(interpolating: bad, at: "line 7"), bad) { error in
                guard case ReferenceError.invalidReference(let location, _)? = error as? ReferenceError else { return XCTFail("\(error)") }
                XCTAssertEqual(location, "line 7")
            }
        }
        XCTAssertThrowsError(try Template(value: "coffer:a/../b", at: "$.a"))
    }

    func testJSONKeepsOrderAndEscapesValues() throws {
        try set(["db/password": "p\"w\\\n\u{1}é", "api/token": "tok"])
        let template = """
            {"z": {"password": "coffer:db/password", "port": 5432, "url": "u:${coffer:api/token}@h"},
             "a": ["coffer:api/token", true, null, -1.5e3, "$${coffer:x}", "plain"], "e": {}, "l": []}
            """
        XCTAssertEqual(try render(template, .json), """
            {
              "z": {
                "password": "p\\"w\\\\\\n\\u0001é",
                "port": 5432,
                "url": "u:tok@h"
              },
              "a": [
                "tok",
                true,
                null,
                -1.5e3,
                "${coffer:x}",
                "plain"
              ],
              "e": {},
              "l": []
            }

            """)
    }

    func testJSONRefusals() {
        for (bad, line) in [("{\"a\": 1,}", 1), ("{\"a\": tru}", 1), ("[1, 2", 1), ("{\"a\": 1, \"a\": 2}", 1), ("{}\n x", 2),
                            ("{\"a\": \"\u{1}\"}", 1), ("[01]", 1), (String(repeating: "[", count: 300), 1)] {
            XCTAssertThrowsError(try Array(bad.utf8).withUnsafeBytes { try ConfigJSON.parse($0) }, bad) { error in
                guard case ReferenceError.notJSON(_, let at)? = error as? ReferenceError else { return XCTFail("\(error)") }
                XCTAssertEqual(at, line, bad)
            }
        }
    }

    func testReferencesAreLocated() throws {
        let json = try Array(#"{"a": {"b c": ["x", "coffer:p/q"]}, "d": "${coffer:r} ${coffer:p/q}"}"#.utf8)
            .withUnsafeBytes { try ConfigDocument(parsing: $0, format: .json) }
        XCTAssertEqual(try json.references().map { "\($0.id) \($0.location)" }, [#"p/q $.a["b c"][1]"#, "r $.d", "p/q $.d"])
        let text = try Array("one\ntwo ${coffer:x}\n${coffer:y}".utf8).withUnsafeBytes { try ConfigDocument(parsing: $0, format: .text) }
        XCTAssertEqual(try text.references().map { "\($0.id) \($0.location)" }, ["x line 2", "y line 3"])
    }

    func testTextIsExactBytes() throws {
        try set(["k": "a\nb'\"#\\"])
        XCTAssertEqual(try render("v=${coffer:k}!\r\nend $${coffer:k}", .text), "v=a\nb'\"#\\!\r\nend ${coffer:k}")
    }

    func testDotenvQuotesWholeValuesAndRefusesUnsafeInterpolation() throws {
        try set(["plain": "abc", "odd": "it's \"x\"\nline2", "hash": "a#b"])
        let rendered = try render("A=${coffer:plain}\nexport B = ${coffer:odd}  \nC=x${coffer:plain}y\n# ${coffer:plain}\nD=${coffer:hash}\n", .dotenv)
        XCTAssertEqual(rendered, "A='abc'\nexport B = \"it's \\\"x\\\"\\nline2\"  \nC=xabcy\n# abc\nD='a#b'\n")
        // What dotenv readers make of it: the exact values back.
        let entries = try Dotenv.parse(bytes(rendered))
        XCTAssertEqual(entries.map { "\($0.key)=\(string($0.value))" }, ["A=abc", "B=it's \"x\"\nline2", "C=xabcy", "D=a#b"])
        for (template, id) in [("C=x${coffer:odd}\n", "odd"), ("C=\"${coffer:hash}\"\n", "hash"), ("C=${coffer:plain}${coffer:odd}\n", "odd")] {
            XCTAssertThrowsError(try render(template, .dotenv), template) { error in
                XCTAssertEqual(error as? ReferenceError, .unsafeInDotenv(id: id, line: 1))
                XCTAssertFalse("\(error)".contains("line2"))
            }
        }
    }

    /// A sourced dotenv file (`set -a; . out.env`) runs no value: a whole
    /// value is single-quoted, or double-quoted when it holds no `$` or
    /// backtick, or refused; inside a longer value only inert characters pass.
    func testDotenvKeepsEveryValueInertForAShell() throws {
        try set(["inert": "user@host:5432/db_1,x+y=%2F.-", "cmd": "$(touch x)", "tick": "`id`", "semi": "a; id", "space": "a b",
                 "quote": "it's $(id)", "slash": "a\\`id`", "newline": "l1\n$HOME", "safe": "it's \\ \"q\"\nl2"])
        XCTAssertEqual(try render("A=${coffer:cmd}\nB=${coffer:tick}\nC=${coffer:semi}\nD=${coffer:space}\nE=x${coffer:inert}\nF=${coffer:safe}\n", .dotenv),
                       "A='$(touch x)'\nB='`id`'\nC='a; id'\nD='a b'\nE=xuser@host:5432/db_1,x+y=%2F.-\nF=\"it's \\\\ \\\"q\\\"\\nl2\"\n")
        for id in ["quote", "slash", "newline"] {
            XCTAssertThrowsError(try render("# x\nexport V=${coffer:\(id)}\n", .dotenv), id) { error in
                XCTAssertEqual(error as? ReferenceError, .notQuotableInDotenv(id: id, line: 2))
            }
        }
        for id in ["cmd", "tick", "semi", "space", "quote", "slash", "newline", "safe"] {
            XCTAssertThrowsError(try render("V=pre${coffer:\(id)}\n", .dotenv), id) { error in
                XCTAssertEqual(error as? ReferenceError, .unsafeInDotenv(id: id, line: 1))
            }
        }
    }

    func testEveryMissingOrUnreadableIDIsNamedAndNoValueReturned() throws {
        try set(["ok": "fine"])
        let stranger = X25519Identity.generate()
        try commitRecipients("other", [named(stranger, "stranger")])
        try set(["other/x": "theirs"])
        let refs = ["ok", "gone/a", "other/x", "gone/b", "gone/a"].map { ConfigReference(id: id($0), location: "$") }
        XCTAssertThrowsError(try vault.resolve(refs, identities: [me])) { error in
            XCTAssertEqual(error as? ReferenceError, .unresolved([UnresolvedReference(id: id("gone/a"), status: .missing),
                                                                 UnresolvedReference(id: id("other/x"), status: .notAReader),
                                                                 UnresolvedReference(id: id("gone/b"), status: .missing)]))
        }
        let statuses = vault.status(of: refs, identities: [me])
        XCTAssertEqual(statuses, [id("ok"): .readable, id("gone/a"): .missing, id("other/x"): .notAReader, id("gone/b"): .missing])
    }

    /// `status` reads the header only: a payload damaged after it still shows
    /// readable, while `resolve` (which decrypts) fails on it.
    func testStatusDoesNotDecryptThePayload() throws {
        try set(["k": "value"])
        var file = try read("k.age")
        file[file.count - 1] ^= 1
        try write("k.age", file)
        let refs = [ConfigReference(id: id("k"), location: "$")]
        XCTAssertEqual(vault.status(of: refs, identities: [me]), [id("k"): .readable])
        XCTAssertThrowsError(try vault.resolve(refs, identities: [me])) { error in
            XCTAssertEqual(error as? ReferenceError, .unresolved([UnresolvedReference(id: id("k"), status: .damaged)]))
        }
        try git("checkout", "--", "k.age")
    }

    func testConfigTreeResolvesForPrograms() throws {
        try set(["db/password": "s3cret"])
        let tree = ConfigNode.map([("db", .map([("password", .string("coffer:db/password")), ("port", .scalar("5432"))]))])
        let resolved = try vault.resolve(tree, identities: [me])
        XCTAssertEqual(resolved["db"]?["password"]?.secret.map(string), "s3cret")
        guard case .scalar("5432")? = resolved["db"]?["port"] else { return XCTFail("port") }
        let binary = ConfigNode.list([.string("coffer:bin")])
        var plan = try vault.planSet([(id("bin"), SecureBytes(copying: [0xFF, 0x00]))], me: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        XCTAssertThrowsError(try vault.resolve(binary, identities: [me])) { XCTAssertEqual($0 as? ReferenceError, .notUTF8(id: "bin")) }
    }
}
