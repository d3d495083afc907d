import Foundation
import XCTest
import Yams
@testable import coffer

/// `-o table|json|yaml` (docs/CLI.md, "Output formats"): every command that
/// prints records, run with `-o json` and `-o yaml` on a small vault that
/// exercises it; the JSON (read with JSONSerialization) and the YAML (read
/// with Yams) must be the same document, of the documented shape, with keys
/// in the documented order; `-o table` starts with its header row.
final class OutputFormatTests: VaultE2ECase {

    // MARK: a document, format-neutral

    /// What JSON and YAML both decode to; a mapping keeps its keys' order.
    indirect enum Doc: Equatable, CustomStringConvertible {
        case string(String), int(Int), bool(Bool), null
        case list([Doc])
        case map([Field])

        struct Field: Equatable {
            var key: String
            var value: Doc
        }

        subscript(key: String) -> Doc? {
            guard case .map(let fields) = self else { return nil }
            return fields.first { $0.key == key }?.value
        }

        var text: String? { if case .string(let s) = self { return s }; return nil }
        var number: Int? { if case .int(let n) = self { return n }; return nil }
        var items: [Doc]? { if case .list(let items) = self { return items }; return nil }
        var keys: [String] { if case .map(let fields) = self { return fields.map(\.key) }; return [] }

        /// Keys sorted at every level: JSONSerialization does not keep their order.
        var sorted: Doc {
            switch self {
            case .list(let items): return .list(items.map(\.sorted))
            case .map(let fields): return .map(fields.map { Field(key: $0.key, value: $0.value.sorted) }.sorted { $0.key < $1.key })
            default: return self
            }
        }

        /// The same with these keys' values replaced by null, at every level.
        func masking(_ keys: Set<String>) -> Doc {
            switch self {
            case .list(let items): return .list(items.map { $0.masking(keys) })
            case .map(let fields):
                return .map(fields.map { Field(key: $0.key, value: keys.contains($0.key) ? .null : $0.value.masking(keys)) })
            default: return self
            }
        }

        var description: String {
            switch self {
            case .string(let s): return "\"\(s)\""
            case .int(let n): return String(n)
            case .bool(let b): return String(b)
            case .null: return "null"
            case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
            case .map(let fields): return "{" + fields.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
            }
        }

        static func fromJSON(_ any: Any) throws -> Doc {
            switch any {
            case is NSNull: return .null
            case let s as String: return .string(s)
            case let n as NSNumber:
                return String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .int(n.intValue)
            case let items as [Any]: return .list(try items.map(fromJSON))
            case let object as [String: Any]:
                return .map(try object.map { Field(key: $0.key, value: try fromJSON($0.value)) }.sorted { $0.key < $1.key })
            default: throw TestSetupError("unexpected JSON value \(any)")
            }
        }

        static func fromYAML(_ node: Node) throws -> Doc {
            switch node {
            case .scalar:
                switch node.any {
                case is NSNull: return .null
                case let b as Bool: return .bool(b)
                case let n as Int: return .int(n)
                case let s as String: return .string(s)
                case let other: throw TestSetupError("unexpected YAML scalar \(other) (\(type(of: other)))")
                }
            case .sequence(let items): return .list(try items.map(fromYAML))
            case .mapping(let pairs):
                return .map(try pairs.map { pair in
                    guard let key = pair.key.string else { throw TestSetupError("a YAML key that is not a string: \(pair.key)") }
                    return Field(key: key, value: try fromYAML(pair.value))
                })
            case .alias: throw TestSetupError("an alias in coffer's YAML")
            }
        }
    }

    /// The documented shape of a document: each mapping's keys, in order
    /// (some optional), and each value's type.
    indirect enum Shape: Sendable {
        case string, int, bool
        case optionalString                         // a string or null
        case optionalBool                           // true, false or null
        case secret                                 // a string, or {base64: string}
        case list(Shape)
        case map([(String, Shape)], optional: Set<String> = [])
    }

    func assertConforms(_ doc: Doc, _ shape: Shape, at path: String = "$", file: StaticString = #filePath, line: UInt = #line) {
        switch (shape, doc) {
        case (.string, .string), (.int, .int), (.bool, .bool), (.optionalString, .string), (.optionalString, .null): return
        case (.optionalBool, .bool), (.optionalBool, .null): return
        case (.secret, .string): return
        case (.secret, .map):
            assertConforms(doc, .map([("base64", .string)]), at: path, file: file, line: line)
        case (.list(let element), .list(let items)):
            for (index, item) in items.enumerated() { assertConforms(item, element, at: "\(path)[\(index)]", file: file, line: line) }
        case (.map(let fields, let optional), .map):
            let present = fields.map(\.0).filter { doc.keys.contains($0) }
            XCTAssertEqual(doc.keys, present, "\(path): the keys, in the documented order", file: file, line: line)
            for (key, valueShape) in fields {
                if let value = doc[key] {
                    assertConforms(value, valueShape, at: "\(path).\(key)", file: file, line: line)
                } else {
                    XCTAssertTrue(optional.contains(key), "\(path): \(key) is missing", file: file, line: line)
                }
            }
        default:
            XCTFail("\(path): \(doc) is not \(shape)", file: file, line: line)
        }
    }

    // MARK: running a command in every format

    /// Runs `arguments -o json` and `arguments -o yaml`; both must decode to
    /// the same document (values of `volatile` keys aside, and with keys in the
    /// same order) and conform to `shape`. With `restoring`, the vault is put
    /// back as it was between the two runs (for commands that change it).
    @discardableResult
    func document(_ arguments: [String], shape: Shape, status: Int32 = 0, restoring: Bool = false,
                  volatile: Set<String> = [], clean: Bool = true,
                  file: StaticString = #filePath, line: UInt = #line) throws -> Doc {
        let saved = path("vault.saved")
        if restoring { try FileManager.default.copyItem(atPath: vaultDir, toPath: saved) }
        let json = try cof(arguments + ["-o", "json"], clean: clean, file: file, line: line)
        XCTAssertEqual(json.status, status, "\(json.command): \(json.stderrText)", file: file, line: line)
        if restoring {
            try FileManager.default.removeItem(atPath: vaultDir)
            try FileManager.default.copyItem(atPath: saved, toPath: vaultDir)
            try FileManager.default.removeItem(atPath: saved)
        }
        let yaml = try cof(arguments + ["-o", "yaml"], clean: clean, file: file, line: line)
        XCTAssertEqual(yaml.status, status, "\(yaml.command): \(yaml.stderrText)", file: file, line: line)

        XCTAssertEqual(json.stdoutText.filter { $0 == "\n" }.count, 1, "JSON is one line: \(json.stdoutText)", file: file, line: line)
        let fromJSON = try Doc.fromJSON(try JSONSerialization.jsonObject(with: json.stdout))
        let node = try XCTUnwrap(try Yams.compose(yaml: yaml.stdoutText), "YAML: \(yaml.stdoutText)", file: file, line: line)
        let fromYAML = try Doc.fromYAML(node)
        XCTAssertEqual(fromJSON.masking(volatile), fromYAML.sorted.masking(volatile),
                       "\(arguments): JSON and YAML differ\nJSON: \(json.stdoutText)\nYAML:\n\(yaml.stdoutText)", file: file, line: line)
        XCTAssertFalse(yaml.stdoutText.hasPrefix("{"), "YAML, not JSON: \(yaml.stdoutText)", file: file, line: line)
        assertConforms(fromYAML, shape, file: file, line: line)
        return fromYAML
    }

    /// The table form: the header row first, then `rows` rows.
    @discardableResult
    func table(_ arguments: [String], header: [String], rows: Int, status: Int32 = 0, clean: Bool = true,
               file: StaticString = #filePath, line: UInt = #line) throws -> TableText {
        let result = try cof(arguments + ["-o", "table"], clean: clean, file: file, line: line)
        XCTAssertEqual(result.status, status, "\(result.command): \(result.stderrText)", file: file, line: line)
        let table = try XCTUnwrap(TableText(result.stdoutText), "not an aligned table:\n\(result.stdoutText)", file: file, line: line)
        XCTAssertEqual(table.header, header, result.stdoutText, file: file, line: line)
        XCTAssertEqual(table.cells.count, rows, result.stdoutText, file: file, line: line)
        XCTAssertTrue(table.cells.allSatisfy { $0.count == header.count }, result.stdoutText, file: file, line: line)
        if result.status == 0 || !result.stdout.isEmpty {
            XCTAssertEqual(result.stdoutText.split(separator: "\n").first.map(String.init)?
                .split(separator: " ").map(String.init), header, "the first line is the header row", file: file, line: line)
        }
        return table
    }

    // MARK: the documented shapes (docs/CLI.md)

    static let reader: Shape = .map([("key", .string), ("name", .string), ("fingerprint", .string)])
    static let list: Shape = .map([("secrets", .list(.map([("id", .string), ("value", .secret), ("readable", .bool)],
                                                          optional: ["value", "readable"])))])
    static let get: Shape = .map([("id", .string), ("bytes", .int), ("value", .secret)], optional: ["value"])
    static let signature: Shape = .map([("mark", .string), ("signer", .string), ("fingerprint", .string)],
                                       optional: ["signer", "fingerprint"])
    static let history: Shape = .map([("id", .string), ("versions", .list(.map([
        ("version", .int), ("id", .string), ("commit", .string), ("date", .string), ("author", .string),
        ("signature", signature), ("action", .string), ("claimed_action", .string), ("change", .string),
    ], optional: ["claimed_action"])))])
    static let log: Shape = .map([("changes", .list(.map([
        ("commit", .string), ("date", .string), ("author", .string), ("signature", signature), ("action", .string),
        ("claimed_action", .string), ("ids", .list(.string)),
    ], optional: ["claimed_action"])))])
    static let diff: Shape = .map([("differences", .list(.map([("id", .string), ("change", .string), ("same_value", .optionalBool),
                                                                ("commit", .optionalString), ("signature", signature),
                                                                ("action", .string), ("claimed_action", .string),
                                                                ("old", .secret), ("new", .secret)],
                                                              optional: ["signature", "action", "claimed_action", "old", "new"])))])
    static let recipientsList: Shape = .map([("scopes", .list(.map([("scope", .string), ("secrets", .int), ("readers", .list(reader))])))])
    static let recipientsRm: Shape = .map([("removed", .list(reader)), ("scopes", .list(.string)), ("rekeyed", .int),
                                           ("exposed", .list(.string)), ("commit", .optionalString)])
    static let signersList: Shape = .map([("signers", .list(.map([("name", .string), ("key", .string), ("fingerprint", .string),
                                                                   ("options", .string), ("trusted", .string)])))])
    static let config: Shape = .map([("signing", .string)])
    static let rotate: Shape = .map([("rotated", .list(.string)), ("skipped_scopes", .list(.string)), ("commit", .optionalString)])
    static let drift: Shape = .map([("kind", .string), ("id", .string), ("scope", .string), ("path", .string), ("bound_to", .string),
                                    ("reason", .string), ("missing", .list(.string)), ("extra", .list(.string))],
                                   optional: ["id", "scope", "path", "bound_to", "reason", "missing", "extra"])
    static let verify: Shape = .map([("checked", .int), ("decrypted", .int), ("drift", .list(drift)), ("commit", .optionalString),
                                     ("set_aside", .list(.string))])
    static let importPlan: Shape = .map([("added", .list(.string)), ("changed", .list(.string)), ("unchanged", .list(.string)),
                                         ("conflicts", .list(.string)), ("signer", .optionalString), ("source_commit", .optionalString),
                                         ("created", .optionalString), ("digest", .optionalString), ("commit", .optionalString),
                                         ("dry_run", .bool)])

    // MARK: the commands

    /// A vault with three versions of one secret, a binary one, a value with a
    /// newline and a second reader (bob), in several commits.
    func storyVault() throws -> Key {
        try initVault()
        let bob = try cofferKeygen("bob")
        try cofOK(["set", "app/db/password=one", "app/token=t0k\"en"])
        try cofOK(["set", "app/db/password=two"])
        try cofOK(["set", "bin", "--stdin"], stdin: Data([0xFF, 0x00, 0xFE]))
        try cofOK(["set", "app/db/password=three", "notes/multi=line one\nline two", "true=null"])
        try cofOK(["recipients", "add", bob.recipient, "--name", "bob"])
        return bob
    }

    func testListAndGetInEveryFormat() throws {
        _ = try storyVault()
        let ids = ["app/db/password", "app/token", "bin", "notes/multi", "true"]
        let listed = try document(["list"], shape: Self.list)
        XCTAssertEqual(listed["secrets"]?.items?.compactMap { $0["id"]?.text }, ids)
        XCTAssertEqual(listed["secrets"]?.items?.map(\.keys), ids.map { _ in ["id"] }, "no values unless asked")
        try table(["list"], header: ["ID"], rows: ids.count)

        let values = try document(["list", "--show-values", "--yes"], shape: Self.list)
        let byID = Dictionary(uniqueKeysWithValues: (values["secrets"]?.items ?? []).map { ($0["id"]?.text ?? "", $0["value"]) })
        XCTAssertEqual(byID["app/db/password"], .string("three"))
        XCTAssertEqual(byID["app/token"], .string("t0k\"en"))
        XCTAssertEqual(byID["notes/multi"], .string("line one\nline two"))
        XCTAssertEqual(byID["true"], .string("null"), "a value that looks like YAML's null stays a string")
        XCTAssertEqual(byID["bin"], .map([.init(key: "base64", value: .string("/wD+"))]))
        let shown = try table(["list", "--show-values", "--yes"], header: ["ID", "VALUE"], rows: ids.count)
        XCTAssertEqual(shown.column("VALUE"), ["\"three\"", "\"t0k\\\"en\"", "base64:/wD+", "\"line one\\nline two\"", "\"null\""])

        let nothing = try document(["list", "nothing"], shape: Self.list)
        XCTAssertEqual(nothing["secrets"], .list([]))
        XCTAssertEqual(try cofOK(["list", "nothing"]).stdoutText, "", "an empty table prints nothing")

        let masked = try document(["get", "app/db/password"], shape: Self.get)
        XCTAssertEqual(masked, .map([.init(key: "id", value: .string("app/db/password")), .init(key: "bytes", value: .int(5))]))
        let revealed = try document(["get", "app/db/password", "--reveal", "--yes"], shape: Self.get)
        XCTAssertEqual(revealed["value"], .string("three"))
        let binary = try document(["get", "bin", "--reveal"], shape: Self.get)
        XCTAssertEqual(binary["value"], .map([.init(key: "base64", value: .string("/wD+"))]))
        XCTAssertEqual(binary["bytes"], .int(3))
        // The table form of get is the product: the masked line, or the exact bytes.
        XCTAssertEqual(try cofOK(["get", "app/db/password", "-o", "table"]).stdoutText, "app/db/password  ******** (5 bytes)\n")
        XCTAssertEqual(try cofOK(["get", "bin", "--reveal", "-o", "table"]).stdout, Data([0xFF, 0x00, 0xFE]))
        XCTAssertEqual(try cofOK(["get", "bin", "--reveal"]).stdout, Data([0xFF, 0x00, 0xFE]), "the fast path")
    }

    func testHistoryLogAndDiffInEveryFormat() throws {
        _ = try storyVault()
        let history = try document(["history", "app/db/password"], shape: Self.history)
        XCTAssertEqual(history["id"], .string("app/db/password"))
        let versions = history["versions"]?.items ?? []
        XCTAssertEqual(versions.compactMap { $0["version"]?.number }, [4, 3, 2, 1])
        XCTAssertEqual(versions.compactMap { $0["action"]?.text }, ["rewrap", "set", "set", "set"])
        XCTAssertEqual(versions.compactMap { $0["change"]?.text }, ["wrapping", "value", "value", "created"])
        XCTAssertTrue(versions.allSatisfy { $0["commit"]?.text?.count == 40 && $0["author"]?.text == "tester" })
        XCTAssertTrue(versions.allSatisfy { $0["signature"]?["mark"]?.text == "verified" && $0["signature"]?["signer"]?.text == "tester" })
        let historyTable = try table(["history", "app/db/password"],
                                     header: ["VERSION", "COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "CHANGE", "ID"], rows: 4)
        XCTAssertEqual(historyTable.column("SIGNED"), Array(repeating: "verified tester", count: 4))
        XCTAssertEqual(historyTable.column("VERSION"), ["v4", "v3", "v2", "v1"])
        XCTAssertEqual(historyTable.column("COMMIT"), versions.map { String($0["commit"]?.text?.prefix(8) ?? "") })
        XCTAssertEqual(historyTable.column("DATE"), versions.map { $0["date"]?.text ?? "" })

        let log = try document(["log", "-n", "3"], shape: Self.log)
        let changes = log["changes"]?.items ?? []
        XCTAssertEqual(changes.compactMap { $0["action"]?.text }, ["rewrap", "set", "set"])
        XCTAssertEqual(changes.map { $0["ids"] }, [
            .list(["app/db/password", "app/token", "bin", "notes/multi", "true"].map(Doc.string)),
            .list(["app/db/password", "notes/multi", "true"].map(Doc.string)),
            .list([.string("bin")]),
        ])
        let logTable = try table(["log", "-n", "3"], header: ["COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "IDS"], rows: 3)
        XCTAssertEqual(logTable.column("IDS").last, "bin")

        let diff = try document(["diff", "HEAD~3", "HEAD~1", "--reveal", "--yes"], shape: Self.diff)
        let differences = diff["differences"]?.items ?? []
        XCTAssertEqual(differences.compactMap { $0["id"]?.text }, ["app/db/password", "bin", "notes/multi", "true"])
        XCTAssertEqual(differences.compactMap { $0["change"]?.text }, ["changed", "added", "added", "added"])
        XCTAssertEqual(differences.first?["old"], .string("two"))
        XCTAssertEqual(differences.first?["new"], .string("three"))
        XCTAssertNil(differences.dropFirst().first?["old"], "an added secret has no old value")
        let masked = try document(["diff", "HEAD~3", "HEAD~1"], shape: Self.diff)
        XCTAssertTrue((masked["differences"]?.items ?? []).allSatisfy { $0.keys == ["id", "change", "same_value", "commit", "signature", "action"] },
                      "values only with --reveal")
        try table(["diff", "HEAD~3", "HEAD~1"], header: ["CHANGE", "ID", "COMMIT", "SIGNED", "ACTION"], rows: 4)
        let revealed = try table(["diff", "HEAD~3", "HEAD~1", "--reveal", "--yes"],
                                 header: ["CHANGE", "ID", "COMMIT", "SIGNED", "ACTION", "OLD", "NEW"], rows: 4)
        XCTAssertEqual(revealed.rows.first, ["CHANGE": "changed", "ID": "app/db/password", "COMMIT": logTable.cells[1][0],
                                             "SIGNED": "verified tester", "ACTION": "set", "OLD": "\"two\"", "NEW": "\"three\""])
        XCTAssertEqual(revealed.rows.dropFirst().first?["OLD"], "-")
    }

    func testRecipientsRotateAndVerifyInEveryFormat() throws {
        let bob = try storyVault()
        let list = try document(["recipients", "list"], shape: Self.recipientsList)
        let scopes = list["scopes"]?.items ?? []
        XCTAssertEqual(scopes.compactMap { $0["scope"]?.text }, [""])
        XCTAssertEqual(scopes.first?["secrets"], .int(5))
        XCTAssertEqual(scopes.first?["readers"]?.items?.compactMap { $0["name"]?.text }, ["tester", "bob"])
        let readers = try table(["recipients", "list"], header: ["SCOPE", "SECRETS", "NAME", "FINGERPRINT", "KEY"], rows: 2)
        XCTAssertEqual(readers.rows.last, ["SCOPE": "/", "SECRETS": "5", "NAME": "bob",
                                           "FINGERPRINT": scopes.first?["readers"]?.items?.last?["fingerprint"]?.text ?? "?",
                                           "KEY": bob.recipient])

        let removed = try document(["recipients", "rm", "bob"], shape: Self.recipientsRm, restoring: true, volatile: ["commit"])
        XCTAssertEqual(removed["removed"]?.items?.first?["key"], .string(bob.recipient))
        XCTAssertEqual(removed["scopes"], .list([.string("")]))
        XCTAssertEqual(removed["rekeyed"], .int(5))
        XCTAssertEqual(removed["exposed"], .list(["app/db/password", "app/token", "bin", "notes/multi", "true"].map(Doc.string)))
        XCTAssertEqual(removed["commit"]?.text?.count, 40)

        let rotated = try document(["rotate", "app"], shape: Self.rotate, restoring: true, volatile: ["commit"])
        XCTAssertEqual(rotated["rotated"], .list([.string("app/db/password"), .string("app/token")]))
        XCTAssertEqual(rotated["commit"]?.text?.count, 40)
        let rotateTable = try table(["rotate", "app"], header: ["ID"], rows: 2)
        XCTAssertEqual(rotateTable.column("ID"), ["app/db/password", "app/token"])

        let clean = try document(["verify"], shape: Self.verify)
        XCTAssertEqual(clean["drift"], .list([]))
        XCTAssertEqual(clean["checked"], .int(5))
        XCTAssertEqual(clean["commit"], .null)

        // Drift: an orphan, and a committed secret missing from the work tree.
        try FileManager.default.copyItem(atPath: sealedPath("app/token"), toPath: vaultDir + "/stray.age")
        try FileManager.default.removeItem(atPath: sealedPath("true"))
        let drifted = try document(["verify"], shape: Self.verify, status: 1, clean: false)
        let drift = drifted["drift"]?.items ?? []
        XCTAssertEqual(Set(drift.compactMap { $0["kind"]?.text }), ["orphan", "work-tree"], "\(drifted)")
        XCTAssertTrue(drift.contains(.map([.init(key: "kind", value: .string("orphan")), .init(key: "path", value: .string("stray.age"))])))
        XCTAssertTrue(drift.contains(.map([.init(key: "kind", value: .string("work-tree")), .init(key: "id", value: .string("true"))])))
        let driftTable = try table(["verify"], header: ["KIND", "WHERE", "PROBLEM"], rows: 2, status: 1, clean: false)
        XCTAssertEqual(Set(driftTable.column("WHERE")), ["stray.age", "true"])

        let fixed = try document(["verify", "--fix"], shape: Self.verify, restoring: true, volatile: ["commit", "set_aside"], clean: false)
        XCTAssertEqual(fixed["drift"], .list([]))
        XCTAssertEqual(fixed["set_aside"]?.items?.count, 1, "\(fixed)")
    }

    /// The rm report as a table: the exposed ids.
    func testSignersListInEveryFormat() throws {
        try initVault()
        let signing = try signingKeyLine()
        let listed = try document(["signers", "list"], shape: Self.signersList)
        let first = listed["signers"]?.items?.first
        XCTAssertEqual(first?["name"], .string("tester"))
        XCTAssertEqual(first?["key"]?.text.map { signing.hasPrefix($0 + " ") }, true, "\(String(describing: first))")
        XCTAssertEqual(first?["fingerprint"]?.text?.hasPrefix("SHA256:"), true)
        XCTAssertEqual(first?["options"], .string(""))
        XCTAssertEqual(first?["trusted"], .string("yes"), "init pins its own signers")
        let shown = try table(["signers", "list"], header: ["NAME", "FINGERPRINT", "TRUSTED", "KEY", "OPTIONS"], rows: 1)
        XCTAssertEqual(shown.column("OPTIONS"), ["-"])
        XCTAssertEqual(shown.column("TRUSTED"), ["yes"])
    }

    func testConfigInEveryFormat() throws {
        try initVault()
        XCTAssertEqual(try document(["config"], shape: Self.config)["signing"], .string("on"))
        try cofOK(["config", "signing", "off"])
        XCTAssertEqual(try document(["config"], shape: Self.config)["signing"], .string("off"))
        let shown = try table(["config"], header: ["SETTING", "VALUE"], rows: 1)
        XCTAssertEqual(shown.column("VALUE"), ["off"])
    }

    func testRecipientsRmTableListsTheExposedIds() throws {
        let bob = try storyVault()
        let result = try table(["recipients", "rm", bob.recipient], header: ["ID"], rows: 5)
        XCTAssertEqual(result.column("ID"), ["app/db/password", "app/token", "bin", "notes/multi", "true"])
    }

    /// A plaintext import (--from): the bundle's document, with no signer, source or digest.
    func testPlaintextImportInEveryFormat() throws {
        _ = try storyVault()
        let file = try write("in.env", "token='t0k\"en'\ndb/password='other'\nnew='1'\n")
        let importing = ["import", "--from", "dotenv", file, "--allow-plaintext", "--prefix", "app/"]
        let dry = try document(importing + ["--dry-run"], shape: Self.importPlan)
        XCTAssertEqual(dry["added"], .list([.string("app/new")]))
        XCTAssertEqual(dry["changed"], .list([]))
        XCTAssertEqual(dry["unchanged"], .list([.string("app/token")]))
        XCTAssertEqual(dry["conflicts"], .list([.string("app/db/password")]))
        for field in ["signer", "source_commit", "created", "digest", "commit"] { XCTAssertEqual(dry[field], .null, field) }
        XCTAssertEqual(dry["dry_run"], .bool(true))
        let rows = try table(importing + ["--dry-run"], header: ["STATUS", "ID"], rows: 3)
        XCTAssertEqual(rows.column("STATUS"), ["added", "unchanged", "conflict"])

        let done = try document(importing + ["--merge"], shape: Self.importPlan, restoring: true, volatile: ["commit"])
        XCTAssertEqual(done["dry_run"], .bool(false))
        XCTAssertEqual(done["conflicts"], .list([.string("app/db/password")]))
    }

    /// A format a command cannot honour is refused (exit 64), never substituted;
    /// an unknown one is refused by the parser.
    func testUnknownFormatIsRefused() throws {
        try initVault()
        for command in [["list"], ["log"], ["verify"], ["recipients", "list"], ["get", "x"]] {
            let result = try cof(command + ["-o", "xml"])
            XCTAssertEqual(result.status, 64, "\(result.command): \(result.stderrText)")
            XCTAssertEqual(result.stdoutText, "")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText)
        }
        XCTAssertThrowsError(try Renderer.render(Output(["a": 1], table: nil), as: .table, command: "test")) { error in
            XCTAssertEqual((error as? FormatRefused)?.description, "test cannot print -o table")
        }
    }

    // MARK: the renderer itself

    func testTableAlignsColumnsUnderAHeader() {
        let table = Table(["ID", "COUNT", "NOTE"], rows: [
            [.string("a"), .int(1), .string("short")],
            [.string("longer/id"), .int(12345), .null],
            [.string("b"), .bool(true), .list([.string("x"), .string("y")])],
        ])
        XCTAssertEqual(Renderer.table(table), """
            ID         COUNT  NOTE
            a          1      short
            longer/id  12345  -
            b          true   x y

            """)
        XCTAssertEqual(Renderer.table(Table(["ID"])), "", "no rows, no header")
        XCTAssertEqual(Renderer.table(Table(["A", "B"], rows: [[.string(""), .string("")]])), "A  B\n\n",
                       "the last column is not padded, and no line ends in spaces")
    }

    func testTableEscapesControlCharactersFromOutside() {
        let hostile = "evil\u{1B}[2J\nforged  line\r\u{7}\u{9B}31m\u{202E}txt.exe\\x1b"
        let table = Table(["AUTHOR", "ACTION"], rows: [[.string(hostile), .string("set")]])
        let text = Renderer.table(table)
        let cell = #"evil\x1b[2J\nforged  line\r\x07\x9b31m\u{202e}txt.exe\\x1b"#
        XCTAssertEqual(text, "AUTHOR" + String(repeating: " ", count: cell.count - "AUTHOR".count + 2) + "ACTION\n" + cell + "  set\n")
        XCTAssertFalse(text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E })
        XCTAssertEqual(text.split(separator: "\n").count, 2, "one line per row, whatever the text holds")
        XCTAssertEqual(TerminalText.escape("prod/db/password"), "prod/db/password", "ordinary text is unchanged")
        XCTAssertEqual(TerminalText.escape("Zoë Ωmega 日本"), "Zoë Ωmega 日本", "printable Unicode is unchanged")
    }

    func testJSONKeepsKeyOrderAndEscapes() throws {
        let record: Record = ["z": 1, "a": .list([true, .null]), "m": .string("q\"\\\n\u{1}"), "r": .record(["y": "1", "b": "2"])]
        let json = Renderer.json(.record(record))
        XCTAssertEqual(json, #"{"z":1,"a":[true,null],"m":"q\"\\\n\u0001","r":{"y":"1","b":"2"}}"#)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(json.utf8)))
    }

    func testYAMLIsWrittenByYamsAndReadsBackTheSame() throws {
        let record: Record = ["id": "true", "n": 3, "ok": false, "none": .null, "empty": .list([]), "num": "012",
                              "nested": .record(["text": "a: b\n# c", "list": .list(["x", 2])])]
        let yaml = try Renderer.yaml(record)
        let node = try XCTUnwrap(try Yams.compose(yaml: yaml))
        XCTAssertEqual(try Doc.fromYAML(node), .map([
            .init(key: "id", value: .string("true")), .init(key: "n", value: .int(3)), .init(key: "ok", value: .bool(false)),
            .init(key: "none", value: .null), .init(key: "empty", value: .list([])), .init(key: "num", value: .string("012")),
            .init(key: "nested", value: .map([.init(key: "text", value: .string("a: b\n# c")),
                                              .init(key: "list", value: .list([.string("x"), .int(2)]))])),
        ]), yaml)
        XCTAssertTrue(yaml.hasSuffix("\n"))
    }
}
