import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
import Yams

/// `coffer render` end to end: the built binary (and coffer-yaml beside it)
/// against a private vault. Every test searches stdout and stderr for the
/// values where they must not be.
final class RenderTests: VaultE2ECase {
    private var password = "", token = "", multiline = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        try initVault()
        // Values that would break a naive writer: quotes, a backslash, a line break, a '#'.
        password = canary("pw") + "\"'\\#"
        token = canary("tok")
        multiline = canary("ml") + "\nsecond line: - [x]"
        try cofOK(["set", "db/password", "--stdin"], stdin: Data(password.utf8))
        try cofOK(["set", "api/token", "--stdin"], stdin: Data(token.utf8))
        try cofOK(["set", "tls/key", "--stdin"], stdin: Data(multiline.utf8))
    }

    private var values: [String] { [password, token, multiline] }

    private func assertNoValue(in text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for value in values {
            let marker = String(value.prefix(while: { $0 != "\"" && $0 != "\n" }))
            XCTAssertFalse(text.contains(marker), "\(what) shows a value: \(text)", file: file, line: line)
        }
    }

    func testNestedYAMLKeepsOrderAndFillsValues() throws {
        let template = try write("app.yaml", """
            server:
              port: 8080
              tls:
                key: coffer:tls/key
            database:
              password: coffer:db/password
              url: "postgres://app:${coffer:api/token}@db/app"
              replicas:
                - host: a
                  password: coffer:db/password
                - 5
            literal: "$${coffer:db/password}"
            prose: "coffer: the vault, not a reference"
            """)
        let result = try cofOK(["render", template])
        assertNoValue(in: result.stderrText, "stderr")
        let node = try XCTUnwrap(try Yams.compose(yaml: result.stdoutText), result.stdoutText)
        XCTAssertEqual(node.mapping?.keys.compactMap(\.string), ["server", "database", "literal", "prose"])
        XCTAssertEqual(node["server"]?["tls"]?["key"]?.string, multiline)
        XCTAssertEqual(node["server"]?["port"]?.int, 8080)
        XCTAssertEqual(node["database"]?.mapping?.keys.compactMap(\.string), ["password", "url", "replicas"])
        XCTAssertEqual(node["database"]?["password"]?.string, password)
        XCTAssertEqual(node["database"]?["url"]?.string, "postgres://app:\(token)@db/app")
        XCTAssertEqual(node["database"]?["replicas"]?[0]?["password"]?.string, password)
        XCTAssertEqual(node["database"]?["replicas"]?[1]?.int, 5)
        XCTAssertEqual(node["literal"]?.string, "${coffer:db/password}")
        XCTAssertEqual(node["prose"]?.string, "coffer: the vault, not a reference")
    }

    /// CloudFormation's short forms are tags on scalars: dropping one turns
    /// `!Ref Name` into the string "Name". Every tag and style comes back.
    func testYAMLTagsAreKept() throws {
        let template = try write("stack.yaml", #"""
            AWSTemplateFormatVersion: "2010-09-09"
            Resources:
              Bucket:
                Type: AWS::S3::Bucket
                Properties:
                  BucketName: !Ref Name
                  Password: !Sub "x-${coffer:api/token}"
                  Arn: !GetAtt [Role, Arn]
                  Blob: !!binary aGVsbG8=
                  Port: !!str 5432
                  Plain: coffer:db/password
                  Quoted: 'single'
                  Count: 3
            """#)
        let result = try cofOK(["render", template])
        let properties = try XCTUnwrap(try Yams.compose(yaml: result.stdoutText)?["Resources"]?["Bucket"]?["Properties"], result.stdoutText)
        func tag(_ key: String) -> String? { properties[key]?.tag.description }
        XCTAssertEqual(tag("BucketName"), "!Ref")
        XCTAssertEqual(properties["BucketName"]?.string, "Name")
        XCTAssertEqual(tag("Password"), "!Sub")
        XCTAssertEqual(properties["Password"]?.string, "x-\(token)")
        XCTAssertEqual(tag("Arn"), "!GetAtt")
        XCTAssertEqual(tag("Blob"), "tag:yaml.org,2002:binary")
        XCTAssertEqual(properties["Blob"]?.string, "aGVsbG8=")
        XCTAssertEqual(tag("Port"), "tag:yaml.org,2002:str")
        XCTAssertEqual(properties["Plain"]?.string, password)
        XCTAssertEqual(properties["Quoted"]?.scalar?.style, .singleQuoted)
        XCTAssertEqual(properties["Count"]?.int, 3)
        XCTAssertTrue(result.stdoutText.contains("BucketName: !Ref Name\n"), result.stdoutText)

        // A value would change what a number or `!!binary` means: refused, naming the path.
        for (body, tag) in [("p: !!int \"coffer:api/token\"\n", "!!int"), ("b: !!binary coffer:api/token\n", "!!binary")] {
            let refused = try cof(["render", try write("typed.yaml", body), "-o", path("typed.out")])
            XCTAssertEqual(refused.status, 1, body)
            XCTAssertTrue(refused.stderrText.contains("is tagged \(tag); only a string"), refused.stderrText)
            XCTAssertFalse(exists("typed.out"))
            assertNoValue(in: refused.stdoutText + refused.stderrText, "the refusal")
        }
    }

    func testNestedJSONKeepsOrderAndEscapes() throws {
        let template = try write("app.json", #"""
            {"zeta": {"password": "coffer:db/password", "port": 5432},
             "alpha": ["coffer:tls/key", {"url": "https://x/?t=${coffer:api/token}"}, null, true, 1.5]}
            """#)
        let result = try cofOK(["render", template])
        assertNoValue(in: result.stderrText, "stderr")
        let text = result.stdoutText
        XCTAssertLessThan(try XCTUnwrap(text.range(of: "\"zeta\"")).lowerBound, try XCTUnwrap(text.range(of: "\"alpha\"")).lowerBound)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], text)
        XCTAssertEqual((object["zeta"] as? [String: Any])?["password"] as? String, password)
        XCTAssertEqual((object["zeta"] as? [String: Any])?["port"] as? Int, 5432)
        let alpha = try XCTUnwrap(object["alpha"] as? [Any])
        XCTAssertEqual(alpha[0] as? String, multiline)
        XCTAssertEqual((alpha[1] as? [String: Any])?["url"] as? String, "https://x/?t=\(token)")
        XCTAssertTrue(alpha[2] is NSNull)
        XCTAssertEqual(alpha[3] as? Bool, true)
        XCTAssertEqual(alpha[4] as? Double, 1.5)
        try assertLastAudit("reveal:render", ids: ["api/token", "db/password", "tls/key"], commit: try head())
    }

    func testARenderingTheAuditLogCannotRecordIsNotWritten() throws {
        let template = try write("app.json", #"{"p": "coffer:db/password"}"#)
        try FileManager.default.removeItem(atPath: auditLogPath)
        try FileManager.default.createDirectory(atPath: auditLogPath, withIntermediateDirectories: false)
        let result = try cof(["render", template, "-o", path("out.json")])
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("cannot write the audit log"), result.stderrText)
        XCTAssertFalse(exists("out.json"))
        let toStdout = try cof(["render", template])
        XCTAssertEqual(toStdout.status, 1)
        XCTAssertEqual(toStdout.stdoutText, "")
    }

    func testDotenvAndText() throws {
        let env = try write("app.env", "# app\nDB_PASSWORD=${coffer:db/password}\nexport TLS_KEY=${coffer:tls/key}\nURL=https://x/${coffer:api/token}/y\n")
        let result = try cofOK(["render", env])
        // Quoted as `export --format dotenv` quotes: double quotes once a value holds ' \\ or a line break.
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        XCTAssertEqual(result.stdoutText, "# app\nDB_PASSWORD=\(quoted(password))\nexport TLS_KEY=\(quoted(multiline))\nURL=https://x/\(token)/y\n")
        assertNoValue(in: result.stderrText, "stderr")

        // A value that would break its line is refused inside a longer value, naming the id, and nothing is written.
        let broken = try write("broken.env", "URL=https://x/${coffer:tls/key}\n")
        let refused = try cof(["render", broken, "-o", path("broken.out")])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("line 1: the value of tls/key holds characters other than"), refused.stderrText)
        XCTAssertFalse(exists("broken.out"))
        assertNoValue(in: refused.stdoutText + refused.stderrText, "the refusal")

        let text = try write("motd.tmpl", "token=${coffer:api/token}\nkey:\n${coffer:tls/key}\n$${coffer:api/token}\n")
        XCTAssertEqual(try cofOK(["render", text]).stdoutText, "token=\(token)\nkey:\n\(multiline)\n${coffer:api/token}\n")
    }

    /// `coffer:ID` as a whole value is YAML's and JSON's form: in dotenv it
    /// stays text, with a warning, and no hint for dotenv or text offers it.
    func testBareReferencesAreYAMLsAndJSONsOnly() throws {
        let env = try write("bare.env", "A=coffer:api/token\nexport B='coffer:db/password'\n# C=coffer:api/token\nD=${coffer:api/token}\nE=coffer: prose\n")
        let result = try cofOK(["render", env])
        XCTAssertEqual(result.stdoutText, "A=coffer:api/token\nexport B='coffer:db/password'\n# C=coffer:api/token\nD='\(token)'\nE=coffer: prose\n")
        XCTAssertEqual(result.stderrText, """
            coffer: warning: line 1: A=coffer:api/token is not a reference in a dotenv file; write A=${coffer:api/token}
            coffer: warning: line 2: B=coffer:db/password is not a reference in a dotenv file; write B=${coffer:db/password}

            """)
        XCTAssertEqual(try cofOK(["render", try write("bare.txt", "A=coffer:api/token\n")]).stderrText, "")

        for name in ["open.env", "open.txt"] {
            let refused = try cof(["render", try write(name, "A=${coffer:x\n")])
            XCTAssertEqual(refused.status, 1, name)
            XCTAssertTrue(refused.stderrText.contains("coffer: hint: a reference is ${coffer:ID}; write $${coffer: for a literal ${coffer:\n"), refused.stderrText)
        }
        let refused = try cof(["render", try write("open.json", #"{"a": "${coffer:x"}"#)])
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: a reference is coffer:ID or ${coffer:ID}"), refused.stderrText)
    }

    /// `set -a; . out.env` is how a rendered dotenv file is loaded: each value
    /// arrives as it is, or the render is refused, and no value ever runs.
    func testARenderedDotenvFileIsSafeToSourceWithSh() throws {
        let pwned = path("PWNED")
        for (index, (value, refused)) in shellHostileValues(touching: pwned).enumerated() {
            let id = "sh/v\(index)"
            try cofOK(["set", id, "--stdin"], stdin: Data(value.utf8))
            let whole = try cof(["render", try write("whole.env", "# app\nexport V=${coffer:\(id)}\n"), "-o", path("out.env")])
            if refused {
                XCTAssertEqual(whole.status, 1, value)
                XCTAssertTrue(whole.stderrText.contains("line 2: the value of \(id) holds '$' or '`'"), whole.stderrText)
                XCTAssertTrue(whole.stderrText.contains("coffer exec"), whole.stderrText)
                XCTAssertFalse(exists("out.env"), value)
            } else {
                XCTAssertEqual(whole.status, 0, whole.stderrText)
                XCTAssertEqual(try sourcedWithSh(path("out.env"), "V"), asSourcedWithSh(value), value)
                try FileManager.default.removeItem(atPath: path("out.env"))
            }
            let inside = try cof(["render", try write("inside.env", "export V=pre${coffer:\(id)}\n"), "-o", path("out.env")])
            XCTAssertEqual(inside.status, 1, value)
            XCTAssertTrue(inside.stderrText.contains("line 1: the value of \(id) holds characters other than"), inside.stderrText)
            XCTAssertTrue(inside.stderrText.contains("make the reference the whole value"), inside.stderrText)
            XCTAssertFalse(exists("out.env"), value)
        }
        try cofOK(["render", try write("ok.env", "A=pre${coffer:api/token}\n"), "-o", path("out.env")])
        XCTAssertEqual(try sourcedWithSh(path("out.env"), "A"), "pre\(token)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pwned), "sourcing a rendered file ran a value")
    }

    func testThreeMissingIDsAreAllNamedAndNothingIsWritten() throws {
        for (name, body) in [("c.yaml", "a: coffer:gone/one\nb: [coffer:db/password, coffer:gone/two]\nc: x${coffer:gone/three}\n"),
                             ("c.json", #"{"a": "coffer:gone/one", "b": ["coffer:db/password", "coffer:gone/two"], "c": "x${coffer:gone/three}"}"#),
                             ("c.env", "A=${coffer:gone/one}\nB=${coffer:db/password}${coffer:gone/two}\nC=${coffer:gone/three}\n")] {
            let template = try write(name, body)
            let existing = try write(name + ".out", "old contents\n")
            let result = try cof(["render", template, "-o", existing])
            XCTAssertEqual(result.status, 1, name)
            for id in ["gone/one", "gone/two", "gone/three"] {
                XCTAssertTrue(result.stderrText.contains("\(id) (missing)"), "\(name): \(result.stderrText)")
            }
            XCTAssertTrue(result.stderrText.contains("nothing was written"), result.stderrText)
            XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "old contents\n", name)
            XCTAssertEqual(result.stdoutText, "", name)
            XCTAssertNotEqual(try auditLines().last?["action"], "reveal:render", "\(name): a refused rendering was recorded")
            let toStdout = try cof(["render", template])
            XCTAssertEqual(toStdout.status, 1)
            XCTAssertEqual(toStdout.stdoutText, "", "\(name): something was written to stdout")
            assertNoValue(in: result.stderrText + toStdout.stderrText, "the refusal")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".coffer-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testOutputFileIsPrivateAndReplacedWhole() throws {
        let template = try write("app.json", #"{"p": "coffer:db/password"}"#)
        let out = path("rendered.json")
        try "old\n".write(toFile: out, atomically: false, encoding: .utf8)
        chmod(out, 0o644)
        let result = try cofOK(["render", template, "-o", out])
        XCTAssertEqual(result.stdoutText, "")
        assertNoValue(in: result.stderrText, "stderr")
        XCTAssertEqual(try mode("rendered.json"), 0o600)
        let object = try JSONSerialization.jsonObject(with: try read("rendered.json")) as? [String: String]
        XCTAssertEqual(object?["p"], password)
        try cofOK(["render", try write("app.yaml", "p: coffer:api/token\n"), "-o", path("new.yaml")])
        XCTAssertEqual(try mode("new.yaml"), 0o600)
        XCTAssertEqual(try Yams.compose(yaml: String(decoding: try read("new.yaml"), as: UTF8.self))?["p"]?.string, token)

        let inside = try cof(["render", template, "-o", vaultDir + "/rendered.json"])
        XCTAssertEqual(inside.status, 1)
        XCTAssertTrue(inside.stderrText.contains("inside the vault"), inside.stderrText)
    }

    func testCheckListsReferencesAndReadsNoValue() throws {
        // A scope only a stranger reads: the file is there, but not for us.
        try cofOK(["age", "keygen", "-o", path("stranger.key")])
        let strangerKey = try cofOK(["age", "keygen", "-y", path("stranger.key")]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.createDirectory(atPath: vaultDir + "/theirs", withIntermediateDirectories: true)
        try "\(strangerKey) # stranger\n".write(toFile: vaultDir + "/theirs/.recipients", atomically: true, encoding: .utf8)
        try gitOK(["add", "theirs/.recipients"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "their scope"])
        try cofOK(["recipients", "accept", "--yes"])
        try cofOK(["set", "theirs/secret", "--stdin", "--yes"], stdin: Data(canary("theirs").utf8))

        let template = try write("c.yaml", "a: coffer:db/password\nb:\n  - x${coffer:gone/one}\nc: coffer:theirs/secret\nd: coffer:db/password\n")
        let result = try cof(["render", template, "--check"])
        XCTAssertEqual(result.status, 1)
        let rows = result.stdoutText.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertEqual(rows, ["ID WHERE STATUS", "db/password $.a readable", "gone/one $.b[0] missing",
                              "theirs/secret $.c not a reader", "db/password $.d readable"])
        XCTAssertTrue(result.stderrText.contains("2 of 3 referenced ids cannot be read"), result.stderrText)
        assertNoValue(in: result.stdoutText + result.stderrText, "--check")

        let fine = try cofOK(["render", try write("ok.env", "A=${coffer:api/token}\n"), "--check"])
        XCTAssertEqual(fine.stdoutText.split(separator: "\n").last.map { $0.split(separator: " ").joined(separator: " ") }, "api/token line 1 readable")
        assertNoValue(in: fine.stdoutText + fine.stderrText, "--check")
    }

    /// SPEC: commands that do not touch history never load libgit2.
    func testRenderDoesNotLoadLibgit2() throws {
        let template = try write("app.json", #"{"p": "coffer:db/password"}"#)
        let result = try cofOK(["render", template, "-o", path("out.json")], env: ["LD_DEBUG": "libs"])
        XCTAssertTrue(result.stderrText.contains("libsodium"), "LD_DEBUG showed no libraries: \(result.stderrText.prefix(500))")
        XCTAssertFalse(result.stderrText.contains("libgit2"), "render loaded libgit2")
    }

    /// On a terminal the values are shown only after a yes (or with --yes), as `get --reveal` does.
    func testOnATerminalRenderAsksFirst() throws {
        let template = try write("t.env", "A=${coffer:api/token}\n")
        let declined = try runOnTerminal([coffer, "render", template], prompt: "on this terminal\\? \\[y/N\\] ", answer: "n")
        XCTAssertEqual(declined.status, 1, declined.stdoutText)
        XCTAssertTrue(declined.stdoutText.contains("Show the values of 1 secret on this terminal?"), declined.stdoutText)
        XCTAssertFalse(declined.stdoutText.contains(token), "shown although declined")
        let shown = try runOnTerminal([coffer, "render", template], prompt: "on this terminal\\? \\[y/N\\] ", answer: "y")
        XCTAssertEqual(shown.status, 0, shown.stdoutText)
        XCTAssertTrue(shown.stdoutText.contains("A='\(token)'"), shown.stdoutText)
    }

    /// Text formats take a binary value as its bytes; YAML, JSON and dotenv refuse it, naming the id.
    func testABinaryValueIsRefusedWhereTextIsNeeded() throws {
        let binary = Data([0xFF, 0xFE, 0x00, 0x41])
        try cofOK(["set", "bin/blob", "--stdin"], stdin: binary)
        for (name, body) in [("b.yaml", "a: coffer:bin/blob\n"), ("b.json", #"{"a": "coffer:bin/blob"}"#), ("b.env", "A=${coffer:bin/blob}\n")] {
            let result = try cof(["render", try write(name, body), "-o", path(name + ".out")])
            XCTAssertEqual(result.status, 1, name)
            XCTAssertTrue(result.stderrText.contains("the value of bin/blob is not UTF-8 text"), "\(name): \(result.stderrText)")
            XCTAssertFalse(exists(name + ".out"), name)
        }
        XCTAssertEqual(try cofOK(["render", try write("b.txt", "<${coffer:bin/blob}>")]).stdout, Data("<".utf8) + binary + Data(">".utf8))
    }

    /// `-o` naming the template itself (or a link to it) would put the values
    /// in a file of the application's repository: refused, nothing written.
    func testTheTemplateIsNeverTheOutput() throws {
        let body = "A=${coffer:api/token}\n"
        let template = try write("app.env", body)
        XCTAssertEqual(symlink(template, path("link.env")), 0)
        XCTAssertEqual(link(template, path("hard.env")), 0)
        for output in [template, path("link.env"), path("hard.env"), path("./app.env")] {
            let result = try cof(["render", template, "-o", output])
            XCTAssertEqual(result.status, 1, output)
            XCTAssertTrue(result.stderrText.contains("is the template itself"), result.stderrText)
            XCTAssertEqual(String(decoding: try read("app.env"), as: UTF8.self), body, output)
        }
        try cofOK(["render", template, "-o", path("out.env")])
        XCTAssertEqual(String(decoding: try read("out.env"), as: UTF8.self), "A='\(token)'\n")
    }

    /// "Billion laughs": a few hundred bytes of nested aliases would expand
    /// to 10^8 nodes; the helper refuses them at once, naming the bound.
    func testAYAMLTemplateThatExpandsWithoutBoundIsRefusedAtOnce() throws {
        for (scalar, bound) in [("coffer:api/token", "more than 10000 strings holding coffer:"), ("x", "more than 100000 nodes")] {
            let lines = ["a0: &a0 [" + Array(repeating: "\"\(scalar)\"", count: 10).joined(separator: ", ") + "]"]
                + (1...7).map { "a\($0): &a\($0) [" + Array(repeating: "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]" }
            let template = try write("laughs.yaml", lines.joined(separator: "\n") + "\n")
            let started = Date()
            let result = try cof(["render", template, "-o", path("out.yaml")])
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the expansion was walked")
            XCTAssertEqual(result.status, 1, result.stderrText)
            XCTAssertTrue(result.stderrText.contains("not a YAML document: the document has \(bound)"), result.stderrText)
            XCTAssertFalse(exists("out.yaml"))
        }
    }

    // MARK: a misbehaving coffer-yaml

    /// A copy of coffer with `script` (Python) installed beside it as its YAML helper.
    private func cofferWithHelper(_ script: String) throws -> String {
        let python = try requireTool("python3")
        try FileManager.default.createDirectory(atPath: path("bin"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: coffer, toPath: path("bin/coffer"))
        let helper = try write("bin/coffer-yaml", "#!\(python)\nimport struct, sys, time\n" + """
            def receive():
                return sys.stdin.buffer.read(struct.unpack(">I", sys.stdin.buffer.read(4))[0])
            def send(frame):
                sys.stdout.buffer.write(struct.pack(">I", len(frame)) + frame)
                sys.stdout.buffer.flush()

            """ + script + "\n")
        XCTAssertEqual(chmod(helper, 0o755), 0)
        return path("bin/coffer")
    }

    private func render(with coffer: String, _ arguments: [String], env: [String: String] = [:]) throws -> (CommandResult, TimeInterval) {
        let started = Date()
        let result = try run(coffer, ["render"] + arguments, environment: vaultEnvironment(env))
        return (result, Date().timeIntervalSince(started))
    }

    /// A helper that never answers is stopped after the timeout (lowered here
    /// through the debug build's COFFER_TEST_HELPER_TIMEOUT), and nothing is written.
    func testASilentHelperIsStoppedAndNothingIsWritten() throws {
        let coffer = try cofferWithHelper("receive()\ntime.sleep(120)")
        let template = try write("app.yaml", "a: coffer:api/token\n")
        let (result, seconds) = try render(with: coffer, [template, "-o", path("out.yaml")], env: ["COFFER_TEST_HELPER_TIMEOUT": "1"])
        XCTAssertLessThan(seconds, 20)
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("coffer-yaml gave no answer in 1 s; it was stopped and nothing was written"), result.stderrText)
        XCTAssertFalse(exists("out.yaml"))
    }

    /// An answer the template could not produce (more strings than the bound,
    /// or a frame longer than the template allows) is refused before it is read.
    func testAnAnswerLargerThanTheTemplateIsRefused() throws {
        for answer in ["send(b'ok 10001')", "send(b'ok 1')\nsys.stdout.buffer.write(struct.pack('>I', 1 << 29))\nsys.stdout.buffer.flush()"] {
            let coffer = try cofferWithHelper("receive()\n\(answer)\ntime.sleep(120)")
            let (result, seconds) = try render(with: coffer, [try write("app.yaml", "a: coffer:api/token\n"), "-o", path("out.yaml")])
            XCTAssertLessThan(seconds, 20, answer)
            XCTAssertEqual(result.status, 1, result.stderrText)
            XCTAssertTrue(result.stderrText.contains("coffer-yaml could not render the document"), result.stderrText)
            XCTAssertFalse(exists("out.yaml"))
            try FileManager.default.removeItem(atPath: path("bin"))
        }
    }

    /// The helper gets every value before it writes the document: the reveal
    /// is recorded before they are sent, so one that then fails is still logged.
    func testValuesHandedToTheHelperAreRecordedEvenWhenItFails() throws {
        let coffer = try cofferWithHelper("""
            receive()
            send(b'ok 1'); send(b'$.a'); send(b'coffer:db/password')
            receive()
            sys.exit(3)
            """)
        let (result, _) = try render(with: coffer, [try write("app.yaml", "a: coffer:db/password\n"), "-o", path("out.yaml")])
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertFalse(exists("out.yaml"))
        try assertLastAudit("reveal:render", ids: ["db/password"])
    }

    func testRefusals() throws {
        for (name, body, message) in [("bad.json", "{\"a\": coffer}", "not JSON: expected a value (line 1)"),
                                      ("bad.yaml", "a: [1, 2\n", "not a YAML document: not valid YAML"),
                                      ("line.yaml", "a: [x\n", "not a YAML document: not valid YAML (line 1)"),
                                      ("two.yaml", "a: coffer:api/token\n---\nb: 1\n",
                                       "two.yaml holds more than one YAML document (`---` at line 2); render takes one\n"),
                                      ("id.yaml", "a: coffer:../etc\n", "$.a: not a reference"),
                                      ("open.env", "A=${coffer:x\n", "line 1: not a reference: `${coffer:` without its closing `}`")] {
            let result = try cof(["render", try write(name, body)])
            XCTAssertEqual(result.status, 1, name)
            XCTAssertTrue(result.stderrText.contains(message), "\(name): \(result.stderrText)")
        }
        let both = try cof(["render", try write("x.json", "{}"), "--check", "-o", path("x.out")])
        XCTAssertEqual(both.status, 64)
    }
}
