import Foundation
import XCTest

/// A private key pasted where a name, path or revision belongs (issue 10):
/// every such position of every command, the `--opt=KEY` spelling, the
/// environment, and ArgumentParser's own echo of typed values. Each run must
/// fail, show the key (in any case) on neither stream, and create nothing —
/// above all no file or directory named after the key.
final class PastedKeyTests: VaultE2ECase {
    /// `@K` stands for the key; `$FILE` a file, `$OTHERKEY` a public key.
    static let positions: [String] = [
        // the key as a command, and the options every vault command shares
        "@K", "identity @K", "recipients @K", "age @K",
        "--vault @K list", "--identity @K get existing/id", "list --vault @K", "get existing/id --identity @K",
        "get existing/id --passphrase-file @K", "get existing/id --reveal --identity @K",
        // init
        "init @K", "init $DIR/@K", "init $NEWVAULT --name @K", "init $NEWVAULT --identity @K", "init $NEWVAULT --vault @K",
        // identity
        "identity new --identity @K", "identity new --identity $DIR/@K/identity", "identity new --name @K --identity $DIR/new-identity",
        "identity new --protect --passphrase-file @K --identity $DIR/new-identity",
        "identity show --identity @K", "identity show --vault @K",
        "identity import @K --identity $DIR/new-identity", "identity import $IDFILE --identity @K",
        "identity import $IDFILE --name @K --identity $DIR/new-identity",
        "identity passwd --identity @K", "identity passwd --new-passphrase-file @K", "identity rotate --identity @K",
        // set (its values are the one place a key may be typed)
        "set @K=1", "set @K --stdin", "set existing/id --file @K", "set a=1 --vault @K", "set a=1 --identity @K",
        "set a --file $FILE --passphrase-file @K", "set prod/@K=1", "set @K/x=1",
        // get, list, rm, mv
        "get @K", "get prod/@K", "get existing/id --at @K", "get existing/id --reveal --at @K", "get existing/id -o @K",
        "get existing/id --at HEAD~@K",
        "list @K", "list -o @K", "list --show-values --yes @K",
        "rm @K", "rm existing/id @K", "mv existing/id @K", "mv @K moved/id", "mv existing/id prod/@K",
        // history
        "history @K", "history existing/id -o @K", "log @K", "log -n @K", "log -o @K",
        "rollback @K --to v1", "rollback existing/id --to @K", "restore @K", "restore gone/id --at @K",
        "diff @K", "diff HEAD @K", "diff @K HEAD", "diff -o @K",
        // recipients
        "recipients list --vault @K", "recipients list -o @K", "recipients add @K", "recipients add $OTHERKEY --name @K",
        "recipients add $OTHERKEY --scope @K", "recipients add $OTHERKEY --scope prod/@K", "recipients rm @K",
        "recipients rm tester --scope @K", "recipients rm tester -o @K",
        // maintenance
        "rotate @K", "rotate -o @K", "verify @K", "verify --fix @K", "verify -o @K", "setup --vault @K", "setup --identity @K",
        // age
        "age encrypt -r @K $FILE", "age encrypt -R @K $FILE", "age encrypt -r $OTHERKEY -o @K $FILE",
        "age encrypt -r $OTHERKEY @K", "age encrypt -p --passphrase-file @K -o $DIR/out $FILE",
        "age decrypt -i @K $FILE", "age decrypt -i $IDFILE -o @K $FILE", "age decrypt -i $IDFILE @K",
        "age decrypt --passphrase-file @K $FILE", "age keygen -o @K", "age keygen -o $DIR/@K", "age keygen -y @K",
        // git's drivers
        "textconv @K",
    ]

    func testAKeyInAnyNameOrPathOrRevisionIsRefusedAndNeverShown() throws {
        try initVault()
        try cofOK(["set", "existing/id=\(canary("existing"))", "gone/id=\(canary("gone"))"])
        try cofOK(["rm", "gone/id"])
        let other = try cofferKeygen("other-identity")
        let file = try write("value.txt", "v")
        let key = try freshKey()
        let body = String(key.dropFirst("AGE-SECRET-KEY-1".count))
        let places: [String: String] = [
            "$DIR": path("work"), "$NEWVAULT": path("new-vault"), "$FILE": file, "$IDFILE": other.identityFile,
            "$OTHERKEY": other.recipient,
        ]
        try FileManager.default.createDirectory(atPath: path("work"), withIntermediateDirectories: false)
        let head = try self.head()
        let before = snapshot(dir.path)

        var runs = 0
        for position in Self.positions {
            for form in [key, key.lowercased()] {
                let words = position.split(separator: " ").map { word in
                    places.reduce(String(word)) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
                        .replacingOccurrences(of: "@K", with: form)
                }
                for arguments in [words] + Self.joined(words, key: form) {
                    try assertRefused(arguments, key: key, body: body, secrets: [other.secret])
                    runs += 1
                }
            }
        }
        for (variable, commands) in [
            ("COFFER_VAULT", [["list"], ["get", "existing/id"], ["get", "existing/id", "--reveal"], ["set", "a=1"], ["init"], ["verify"]]),
            ("COFFER_IDENTITY", [["get", "existing/id", "--reveal"], ["identity", "new"], ["identity", "show"], ["set", "a=1"],
                                 ["init", path("new-vault")], ["recipients", "add", other.recipient]]),
        ] {
            for command in commands {
                for form in [key, key.lowercased(), path("work") + "/" + key] {
                    try assertRefused(command, env: [variable: form], key: key, body: body, secrets: [other.secret])
                    runs += 1
                }
            }
        }
        XCTAssertGreaterThan(runs, 2 * Self.positions.count)

        XCTAssertEqual(try self.head(), head, "a refused command committed")
        let after = snapshot(dir.path)
        let named = after.keys.filter { $0.uppercased().contains(body.uppercased()) }
        XCTAssertEqual(named, [], "files or directories named after the key")
        assertSameSnapshot(before.filter { !$0.key.hasPrefix(".io/") }, after.filter { !$0.key.hasPrefix(".io/") },
                           "commands given a pasted key")
    }

    /// ArgumentParser quotes what was typed in its own errors; a value after
    /// `=` (perhaps a secret's) and a key are never shown.
    func testArgumentParserErrorsDoNotEchoValues() throws {
        try initVault()
        let key = try freshKey()
        let body = String(key.dropFirst("AGE-SECRET-KEY-1".count))
        let value = canary("value")
        for typed in [value, key, key.lowercased()] {
            for arguments in [["set", "--yes=\(typed)", "a=1"], ["set", "--unknown=\(typed)", "a=1"], ["set", "a=1", "--stdin=\(typed)"],
                              ["get", "existing/id", "--reveal=\(typed)"], ["list", "--show-values=\(typed)"], ["--yes=\(typed)"],
                              ["log", "-n=\(typed)"], ["get", "x", "-o=\(typed)"], ["age", "encrypt", "--armor=\(typed)"]] {
                let result = try cof(arguments)
                XCTAssertEqual(result.status, 64, "\(arguments.first!) …: \(result.stderrText)")
                XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText)
                for shown in [result.stdoutText, result.stderrText] {
                    XCTAssertFalse(shown.contains(value), "\(arguments.first!) … echoes the value: \(shown)")
                    XCTAssertFalse(shown.uppercased().contains(body.uppercased()), "\(arguments.first!) … echoes the key")
                }
            }
        }
        XCTAssertFalse(try cof(["set", "--yes=\(value)", "a=1"]).stderrText.contains("--yes="+value))
    }

    /// The `--opt=KEY` spellings of every `--opt KEY` in `words`.
    static func joined(_ words: [String], key: String) -> [[String]] {
        words.indices.dropLast().compactMap { index in
            guard words[index].hasPrefix("-"), words[index + 1].contains(key) else { return nil }
            return Array(words[..<index]) + [words[index] + "=" + words[index + 1]] + Array(words[(index + 2)...])
        }
    }

    private func freshKey() throws -> String {
        let generated = try cofOK(["age", "keygen"]).stdoutText
        let key = try XCTUnwrap(generated.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init))
        return key
    }

    private func assertRefused(_ arguments: [String], env: [String: String] = [:], key: String, body: String, secrets: [String],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try cof(arguments, stdin: Data(), env: env, file: file, line: line)
        let shown = arguments.map { $0.replacingOccurrences(of: key, with: "KEY").replacingOccurrences(of: key.lowercased(), with: "key") }
            .joined(separator: " ") + (env.isEmpty ? "" : " (env \(env.keys.joined()))")
        XCTAssertNotEqual(result.status, 0, "coffer \(shown) succeeded", file: file, line: line)
        XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), "coffer \(shown): \(result.stderrText)", file: file, line: line)
        for (stream, text) in [("stdout", result.stdoutText), ("stderr", result.stderrText)] {
            XCTAssertFalse(text.uppercased().contains(body.uppercased()), "coffer \(shown) shows the key on \(stream)", file: file, line: line)
        }
        assertNoLeak(result, plaintext: nil, secrets: secrets + [key], file: file, line: line)
    }
}
