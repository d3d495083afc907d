import Foundation
import XCTest

/// End-to-end tests of the history features (issue 4): `coffer history`,
/// `coffer log`, `coffer get --at`, `coffer rollback` and `coffer restore`,
/// including across `coffer mv` and `coffer rm`, and the re-sealing of old
/// values for today's readers (checked with the stock `age` CLI).
final class HistoryTests: VaultE2ECase {

    // MARK: helpers

    /// One row of `coffer history` (table form).
    struct Row: Equatable {
        var version: String
        var commit: String
        var date: String
        var author: String
        var signed: String
        var action: String
        var change: String
        var id: String
    }

    /// Parses the table `VERSION  COMMIT  DATE  AUTHOR  SIGNED  ACTION  CHANGE  ID` (a header row, aligned columns).
    func historyRows(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [Row] {
        guard let table = TableText(text) else {
            XCTFail("history is not a table:\n\(text)", file: file, line: line)
            return []
        }
        XCTAssertEqual(table.header, ["VERSION", "COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "CHANGE", "ID"], file: file, line: line)
        return table.rows.map { row in
            Row(version: row["VERSION"] ?? "", commit: row["COMMIT"] ?? "", date: row["DATE"] ?? "", author: row["AUTHOR"] ?? "",
                signed: row["SIGNED"] ?? "", action: row["ACTION"] ?? "", change: row["CHANGE"] ?? "", id: row["ID"] ?? "")
        }
    }

    /// Every commit of the vault, newest first (full ids).
    func commits(file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try gitOK(["log", "--first-parent", "--format=%H"], file: file, line: line).stdoutText
            .split(separator: "\n").map(String.init)
    }

    /// `git commit` of whatever is staged, by hand (a reader change), which
    /// this clone then accepts as the user would (`recipients accept`).
    func commitByHand(_ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try gitOK(["add", "-A"], file: file, line: line)
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], file: file, line: line)
        try cofOK(["recipients", "accept", "--yes"], file: file, line: line)
    }

    func json(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            XCTFail("not a JSON object: \(String(decoding: data, as: UTF8.self))", file: file, line: line)
            throw TestSetupError("not a JSON object")
        }
        return object
    }

    /// `get ID --at REV --reveal`: must succeed; returns the exact bytes.
    func revealAt(_ id: String, _ revision: String, identity: String? = nil,
                  file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let extra = identity.map { ["--identity", $0] } ?? []
        return try cofOK(["get", id, "--at", revision, "--reveal"] + extra, file: file, line: line).stdoutText
    }

    /// A failing command: exit 1, `coffer: error:` first, nothing on stdout,
    /// none of `values` anywhere, HEAD unchanged. Returns stderr.
    @discardableResult
    func expectError(_ arguments: [String], values: [String], mentions: [String], env: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let before = try head(file: file, line: line)
        let result = try cof(arguments, env: env, file: file, line: line)
        assertCofferError(result, file: file, line: line)
        XCTAssertEqual(result.stdoutText, "", "\(result.command) printed on stdout", file: file, line: line)
        for value in values {
            XCTAssertFalse(result.stderrText.contains(value), "\(result.command) shows a value on stderr", file: file, line: line)
            XCTAssertFalse(result.stdoutText.contains(value), "\(result.command) shows a value on stdout", file: file, line: line)
        }
        let firstLine = result.stderrText.split(separator: "\n").first.map(String.init) ?? ""
        for word in mentions {
            XCTAssertTrue(firstLine.contains(word), "the error of \(result.command) should name \(word): \(result.stderrText)",
                          file: file, line: line)
        }
        XCTAssertEqual(try head(file: file, line: line), before, "\(result.command) made a commit", file: file, line: line)
        return result.stderrText
    }

    // MARK: 1. the whole story of one secret

    func testHistoryFollowsSetMvRmRestoreRollback() throws {
        try initVault()
        let values = [canary("one"), canary("two"), canary("three")]
        let oldID = "app/old-token", newID = "svc/api/token"

        for value in values { try cofOK(["set", "\(oldID)=\(value)"]) }
        try cofOK(["mv", oldID, newID])
        try cofOK(["rm", newID])
        XCTAssertFalse(fileExists(sealedPath(newID)))
        try cofOK(["restore", newID])
        XCTAssertEqual(String(decoding: try reveal(newID), as: UTF8.self), values[2], "restore brings back the last value")
        let beforeRollback = try commitCount()
        try cofOK(["rollback", newID, "--to", "v1"])
        XCTAssertEqual(try commitCount(), beforeRollback + 1, "rollback is one new commit")
        XCTAssertEqual(String(decoding: try reveal(newID), as: UTF8.self), values[0], "rollback makes v1's value current")

        // The 7 commits of the story, newest first (the 8th is init's).
        let all = try commits()
        XCTAssertEqual(all.count, 8, "init + 7 changes")
        let story = Array(all.prefix(7))

        // The table, newest first.
        let table = try cofOK(["history", newID])
        let rows = historyRows(table.stdoutText)
        let expected: [(String, String, String?)] = [
            // action, change, old id shown
            ("rollback", "restored", nil),
            ("restore", "restored", nil),
            ("rm", "deleted", nil),
            ("mv", "created", nil),
            ("set", "value", oldID),
            ("set", "value", oldID),
            ("set", "created", oldID),
        ]
        XCTAssertEqual(rows.count, 7, "history:\n\(table.stdoutText)")
        let iso = ISO8601DateFormatter()
        for (index, row) in rows.enumerated() where index < expected.count {
            let what = "history row \(index): \(row)"
            XCTAssertEqual(row.version, "v\(7 - index)", what)
            XCTAssertEqual(row.commit, String(story[index].prefix(8)), what)
            XCTAssertNotNil(iso.date(from: row.date), "date \(row.date) is not ISO 8601: \(what)")
            XCTAssertEqual(row.author, "tester", what)
            XCTAssertEqual(row.signed, "verified tester", what)
            XCTAssertEqual(row.action, expected[index].0, what)
            XCTAssertEqual(row.change, expected[index].1, what)
            XCTAssertEqual(row.id, expected[index].2 ?? newID, what)
        }
        for value in values {
            XCTAssertFalse(table.stdoutText.contains(value), "history shows a value")
            XCTAssertFalse(table.stderrText.contains(value), "history shows a value")
        }

        // The same in JSON.
        let document = try json(try cofOK(["history", newID, "-o", "json"]).stdout)
        XCTAssertEqual(document["id"] as? String, newID)
        let versions = document["versions"] as? [[String: Any]] ?? []
        XCTAssertEqual(versions.count, 7, "json: \(document)")
        for (index, version) in versions.enumerated() where index < expected.count {
            let what = "json version \(index): \(version)"
            XCTAssertEqual((version["version"] as? NSNumber)?.intValue, 7 - index, what)
            XCTAssertEqual(version["id"] as? String, expected[index].2 ?? newID, what)
            XCTAssertEqual(version["commit"] as? String, story[index], what)
            XCTAssertEqual(version["date"] as? String, rows.count == 7 ? rows[index].date : nil, what)
            XCTAssertEqual(version["author"] as? String, "tester", what)
            XCTAssertEqual(version["action"] as? String, expected[index].0, what)
            XCTAssertEqual(version["change"] as? String, expected[index].1, what)
        }

        // Versions by number, under the new id (v1..v3 were written as the old id).
        XCTAssertEqual(try revealAt(newID, "v1"), values[0])
        XCTAssertEqual(try revealAt(newID, "v2"), values[1])
        XCTAssertEqual(try revealAt(newID, "v3"), values[2])
        XCTAssertEqual(try revealAt(newID, "v4"), values[2], "the renamed version keeps the value")
        XCTAssertEqual(try revealAt(newID, "v6"), values[2])
        XCTAssertEqual(try revealAt(newID, "v7"), values[0])
        try expectError(["get", newID, "--at", "v5", "--reveal"], values: values, mentions: [newID, "v5"])
        try expectError(["get", newID, "--at", "v8", "--reveal"], values: values, mentions: [newID, "v8"])

        // Masked unless --reveal.
        let masked = try cofOK(["get", newID, "--at", "v2"])
        XCTAssertFalse(masked.stdoutText.contains(values[1]), "get --at without --reveal shows the value")
        XCTAssertEqual(masked.stdoutText, "\(newID)  ******** (\(values[1].utf8.count) bytes)\n", "get --at without --reveal")

        // Git revisions: a commit prefix and HEAD~N (story[k] is HEAD~k).
        XCTAssertEqual(try revealAt(oldID, String(story[5].prefix(8))), values[1], "commit prefix of the 2nd set")
        XCTAssertEqual(try revealAt(oldID, story[4]), values[2], "full commit id of the 3rd set")
        XCTAssertEqual(try revealAt(oldID, "HEAD~6"), values[0])
        XCTAssertEqual(try revealAt(newID, "HEAD~3"), values[2], "HEAD~3 is the mv")
        XCTAssertEqual(try revealAt(newID, "HEAD~1"), values[2], "HEAD~1 is the restore")
        XCTAssertEqual(try revealAt(newID, "HEAD"), values[0])
        try expectError(["get", newID, "--at", "HEAD~2", "--reveal"], values: values, mentions: [newID, "HEAD~2"])

        // Rollback by commit prefix, then by HEAD~N: each a new version with that value.
        try cofOK(["rollback", newID, "--to", String(story[3].prefix(10))])   // the mv: value three
        XCTAssertEqual(String(decoding: try reveal(newID), as: UTF8.self), values[2])
        // HEAD~1 is now the first rollback (value one).
        try cofOK(["rollback", newID, "--to", "HEAD~1"])
        XCTAssertEqual(String(decoding: try reveal(newID), as: UTF8.self), values[0])
        // And by version number, to a version from before the rename.
        try cofOK(["rollback", newID, "--to", "v2"])
        XCTAssertEqual(String(decoding: try reveal(newID), as: UTF8.self), values[1])
        let after = historyRows(try cofOK(["history", newID]).stdoutText)
        XCTAssertEqual(after.count, 10)
        XCTAssertEqual(after.prefix(3).map(\.version), ["v10", "v9", "v8"])
        XCTAssertEqual(after.prefix(3).map(\.action), ["rollback", "rollback", "rollback"])
        XCTAssertEqual(after.prefix(3).map(\.change), ["restored", "restored", "restored"])
        XCTAssertEqual(Array(after.dropFirst(3)).map(\.commit), rows.map(\.commit), "older versions keep their numbers")
        XCTAssertEqual(try revealAt(newID, "v8"), values[2])
        XCTAssertEqual(try revealAt(newID, "v9"), values[0])
        XCTAssertEqual(try revealAt(newID, "v10"), values[1])
        XCTAssertEqual(try revealAt(newID, "v1"), values[0])
    }

    /// `history ID` lists the commits of the versions from before a rename as
    /// versions of ID; those commit ids (the revision syntax the issue asks
    /// for) must address them under ID too, as `vN` does.
    func testCommitIDsFromHistoryAddressVersionsBeforeARename() throws {
        try initVault()
        let first = canary("first"), second = canary("second")
        try cofOK(["set", "old/name=\(first)"])
        try cofOK(["set", "old/name=\(second)"])
        try cofOK(["mv", "old/name", "new/name"])
        let rows = historyRows(try cofOK(["history", "new/name"]).stdoutText)
        XCTAssertEqual(rows.map(\.version), ["v3", "v2", "v1"])
        guard rows.count == 3 else { return }
        XCTAssertEqual(try revealAt("new/name", "v1"), first)
        // The commit shown for v1, and HEAD~2 (the same commit).
        for revision in [rows[2].commit, "HEAD~2"] {
            let result = try cof(["get", "new/name", "--at", revision, "--reveal"])
            XCTAssertEqual(result.status, 0, "get new/name --at \(revision) (v1 as history shows it): \(result.stderrText)")
            XCTAssertEqual(result.stdoutText, result.status == 0 ? first : "")
        }
        let rollback = try cof(["rollback", "new/name", "--to", rows[2].commit])
        XCTAssertEqual(rollback.status, 0, "rollback new/name --to \(rows[2].commit) (v1): \(rollback.stderrText)")
        if rollback.status == 0 { XCTAssertEqual(String(decoding: try reveal("new/name"), as: UTF8.self), first) }
    }

    // MARK: 2. rollback re-seals for today's readers

    func testRollbackSealsForTodaysRecipientsOnly() throws {
        _ = try requireTool("age")
        try initVault(name: "alice")
        let bob = try cofferKeygen("bob")
        let recipientsPath = vaultDir + "/.recipients"
        let original = String(decoding: try Data(contentsOf: URL(fileURLWithPath: recipientsPath)), as: UTF8.self)
        XCTAssertFalse(original.contains(bob.recipient))

        // Bob joins; the first value is readable by both.
        try (original + (original.hasSuffix("\n") ? "" : "\n") + "\(bob.recipient) # bob\n")
            .write(toFile: recipientsPath, atomically: true, encoding: .utf8)
        try commitByHand("add bob")
        let oldValue = canary("shared-with-bob"), newValue = canary("alice-only")
        try cofOK(["set", "db/password=\(oldValue)"])
        let file = sealedPath("db/password")
        let bobReadsV1 = try ageDecrypt(file, identity: bob.identityFile)
        XCTAssertEqual(bobReadsV1.status, 0, "setup: bob should read v1: \(bobReadsV1.stderrText)")
        XCTAssertEqual(bobReadsV1.stdoutText, oldValue)
        XCTAssertEqual(try ageDecrypt(file).stdoutText, oldValue)

        // Bob leaves; a new value for Alice only.
        try original.write(toFile: recipientsPath, atomically: true, encoding: .utf8)
        try commitByHand("remove bob")
        try cofOK(["set", "db/password=\(newValue)"])
        XCTAssertNotEqual(try ageDecrypt(file, identity: bob.identityFile).status, 0, "setup: bob must not read v2")

        // Bob can still read his old version through coffer (history is history)…
        XCTAssertEqual(try revealAt("db/password", "v1", identity: bob.identityFile), oldValue)

        // …but rolling back to it seals the old value for today's readers only.
        try cofOK(["rollback", "db/password", "--to", "v1"])
        let bobNow = try ageDecrypt(file, identity: bob.identityFile)
        XCTAssertNotEqual(bobNow.status, 0, "bob, removed since v1, can open the rolled-back file")
        XCTAssertFalse(bobNow.stdoutText.contains(oldValue), "bob decrypted the rolled-back value")
        let aliceNow = try ageDecrypt(file)
        XCTAssertEqual(aliceNow.status, 0, "alice cannot open the rolled-back file: \(aliceNow.stderrText)")
        XCTAssertEqual(aliceNow.stdoutText, oldValue)
        XCTAssertEqual(sealedFileStanzas(file).filter { $0 == "X25519" }.count, 1, "one X25519 reader after rollback")
        let rows = historyRows(try cofOK(["history", "db/password"]).stdoutText)
        XCTAssertEqual(rows.map(\.action), ["rollback", "set", "set"])
        XCTAssertEqual(rows.map(\.change), ["restored", "value", "created"])

        // Same with restore: removed, then restored from the bob-readable version.
        try cofOK(["rm", "db/password"])
        try cofOK(["restore", "db/password", "--at", "v1"])
        XCTAssertNotEqual(try ageDecrypt(file, identity: bob.identityFile).status, 0, "bob can open the restored file")
        XCTAssertEqual(try ageDecrypt(file).stdoutText, oldValue)
    }

    private func sealedFileStanzas(_ path: String) -> [String] {
        ((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()).ageStanzaTypes()
    }

    // MARK: 3. a version the user cannot decrypt

    func testUndecryptableVersionNamesIDAndRevision() throws {
        try initVault(name: "alice")
        let bob = try cofferKeygen("bob")
        // A scope read by Bob only.
        try FileManager.default.createDirectory(atPath: vaultDir + "/ops", withIntermediateDirectories: true)
        try "\(bob.recipient) # bob\n".write(toFile: vaultDir + "/ops/.recipients", atomically: true, encoding: .utf8)
        try commitByHand("ops scope: bob only")
        let bobsValue = canary("bob-only")
        try cofOK(["set", "--yes", "ops/token=\(bobsValue)"])
        let sealedCommit = try head()

        // Sanity: the version exists and Bob can read it.
        XCTAssertEqual(try revealAt("ops/token", "v1", identity: bob.identityFile), bobsValue)

        // Alice: a clear error naming the id and the revision, never a value.
        for revision in ["v1", String(sealedCommit.prefix(8)), "HEAD"] {
            try expectError(["get", "ops/token", "--at", revision, "--reveal"], values: [bobsValue],
                            mentions: ["ops/token", revision])
            try expectError(["get", "ops/token", "--at", revision], values: [bobsValue], mentions: ["ops/token", revision])
            try expectError(["rollback", "ops/token", "--to", revision], values: [bobsValue], mentions: ["ops/token", revision])
        }
        let json = try cof(["get", "ops/token", "--at", "v1", "--reveal", "-o", "json"])
        assertCofferError(json)
        XCTAssertFalse(json.stdoutText.contains(bobsValue) || json.stderrText.contains(bobsValue))

        // Alice joins the scope; a version sealed for her reads, the old one still does not.
        try "\(bob.recipient) # bob\n\(try publicKey()) # alice\n"
            .write(toFile: vaultDir + "/ops/.recipients", atomically: true, encoding: .utf8)
        try commitByHand("ops scope: alice joins")
        try cofOK(["rm", "ops/token"])
        let alicesValue = canary("alice-too")
        try cofOK(["set", "ops/token=\(alicesValue)"])
        XCTAssertEqual(try revealAt("ops/token", "v3"), alicesValue)
        try expectError(["get", "ops/token", "--at", "v1", "--reveal"], values: [bobsValue, alicesValue],
                        mentions: ["ops/token", "v1"])
        // restore of an unreadable version: same error, nothing written.
        try cofOK(["rm", "ops/token"])
        try expectError(["restore", "ops/token", "--at", "v1"], values: [bobsValue, alicesValue],
                        mentions: ["ops/token", "v1"])
    }

    // MARK: 4. log

    func testLogShowsIDsHonoursPrefixAndLimitNeverValues() throws {
        try initVault()
        let values = (0..<5).map { canary("log\($0)") }
        try cofOK(["set", "db/pass=\(values[0])"])                              // HEAD~4
        try cofOK(["set", "app/key=\(values[1])"])                              // HEAD~3
        try cofOK(["set", "db/user=\(values[2])", "app/other=\(values[3])"])     // HEAD~2
        try cofOK(["mv", "db/pass", "db/password"])                             // HEAD~1
        try cofOK(["rm", "app/key"])                                            // HEAD
        let all = try commits()
        XCTAssertEqual(all.count, 6)

        /// The table's rows as [COMMIT, DATE, AUTHOR, SIGNED, ACTION, IDS].
        func lines(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) -> [[String]] {
            guard let table = TableText(result.stdoutText) else {
                XCTFail("log is not a table:\n\(result.stdoutText)", file: file, line: line)
                return []
            }
            if !table.cells.isEmpty {
                XCTAssertEqual(table.header, ["COMMIT", "DATE", "AUTHOR", "SIGNED", "ACTION", "IDS"], file: file, line: line)
            }
            return table.cells
        }
        func ids(_ fields: [String]) -> Set<String> {
            Set((fields.count >= 6 ? fields[5] : "").split(separator: " ").map(String.init))
        }
        var outputs: [CommandResult] = []

        let full = try cofOK(["log"]); outputs.append(full)
        let rows = lines(full)
        XCTAssertEqual(rows.count, 6, "every commit (init included):\n\(full.stdoutText)")
        let expected: [(String, Set<String>)] = [
            ("rm", ["app/key"]),
            ("mv", ["db/pass", "db/password"]),
            ("set", ["db/user", "app/other"]),
            ("set", ["app/key"]),
            ("set", ["db/pass"]),
        ]
        for (index, row) in rows.prefix(5).enumerated() {
            XCTAssertEqual(row.first, String(all[index].prefix(8)), "log row \(index): \(row)")
            XCTAssertEqual(row.count > 4 ? row[4] : nil, expected[index].0, "log row \(index): \(row)")
            XCTAssertEqual(row.count > 3 ? row[3] : nil, "verified tester", "log row \(index): \(row)")
            XCTAssertEqual(ids(row), expected[index].1, "log row \(index): \(row)")
            XCTAssertEqual(row.count > 2 ? row[2] : nil, "tester", "log row \(index): \(row)")
        }

        // A prefix: only changes under db/, with only the db/ ids.
        let db = try cofOK(["log", "db"]); outputs.append(db)
        let dbRows = lines(db)
        XCTAssertEqual(dbRows.map { $0.first ?? "" }, [all[1], all[2], all[4]].map { String($0.prefix(8)) }, db.stdoutText)
        XCTAssertEqual(dbRows.map(ids), [["db/pass", "db/password"], ["db/user"], ["db/pass"]])
        let dbSlash = try cofOK(["log", "db/"]); outputs.append(dbSlash)
        XCTAssertEqual(dbSlash.stdoutText, db.stdoutText, "db/ and db are the same prefix")
        let app = try cofOK(["log", "app"]); outputs.append(app)
        XCTAssertEqual(lines(app).map(ids), [["app/key"], ["app/other"], ["app/key"]])
        let exact = try cofOK(["log", "db/password"]); outputs.append(exact)
        XCTAssertEqual(lines(exact).map(ids), [["db/password"]])
        let none = try cofOK(["log", "nothing/here"]); outputs.append(none)
        XCTAssertEqual(none.stdoutText, "")

        // -n
        let two = try cofOK(["log", "-n", "2"]); outputs.append(two)
        XCTAssertEqual(lines(two).map { $0.first ?? "" }, [all[0], all[1]].map { String($0.prefix(8)) })
        let dbOne = try cofOK(["log", "db", "-n", "1"]); outputs.append(dbOne)
        XCTAssertEqual(lines(dbOne).map(ids), [["db/pass", "db/password"]])
        let appTwo = try cofOK(["log", "app", "-n", "2"]); outputs.append(appTwo)
        XCTAssertEqual(lines(appTwo).map(ids), [["app/key"], ["app/other"]])

        // JSON
        let js = try cofOK(["log", "-o", "json", "-n", "3"]); outputs.append(js)
        let changes = try json(js.stdout)["changes"] as? [[String: Any]] ?? []
        XCTAssertEqual(changes.count, 3)
        XCTAssertEqual(changes.map { $0["commit"] as? String ?? "" }, Array(all.prefix(3)))
        XCTAssertEqual(changes.map { $0["action"] as? String ?? "" }, ["rm", "mv", "set"])
        XCTAssertEqual(changes.map { Set($0["ids"] as? [String] ?? []) }, expected.prefix(3).map(\.1))

        // History outputs too, for the value search.
        outputs.append(try cofOK(["history", "db/password"]))
        outputs.append(try cofOK(["history", "db/password", "-o", "json"]))
        outputs.append(try cofOK(["history", "app/key"]))

        for output in outputs {
            for value in values {
                XCTAssertFalse(output.stdoutText.contains(value), "\(output.command) shows a value on stdout")
                XCTAssertFalse(output.stderrText.contains(value), "\(output.command) shows a value on stderr")
                // Nor a recognisable part of it.
                let tail = String(value.suffix(16))
                XCTAssertFalse(output.stdoutText.contains(tail), "\(output.command) shows part of a value")
            }
        }
    }

    // MARK: 5. restore and get --at errors

    func testRestoreAndGetAtErrors() throws {
        try initVault()
        let value = canary("live")
        try cofOK(["set", "a/live=\(value)"])

        // restore of an id that exists: refused, pointing at rollback.
        let refused = try cof(["restore", "a/live"])
        assertCofferError(refused)
        XCTAssertEqual(refused.stderrText, "coffer: error: a/live already exists\ncoffer: hint: use `coffer rollback a/live --to REV` to bring back an earlier value\n",
                       "restore of an existing id should hint at rollback")
        try expectError(["restore", "a/live"], values: [value], mentions: ["a/live"])
        try expectError(["restore", "a/live", "--at", "v1"], values: [value], mentions: ["a/live"])

        // restore of an id that never existed.
        let never = try expectError(["restore", "never/was"], values: [value], mentions: ["never/was"])
        XCTAssertFalse(never.contains("rollback"), "a never-existing id is not an existing one: \(never)")
        XCTAssertFalse(fileExists(sealedPath("never/was")))
        try expectError(["history", "never/was"], values: [value], mentions: ["never/was"])

        // get --at a revision where the secret did not exist.
        try expectError(["get", "a/live", "--at", "HEAD~1", "--reveal"], values: [value], mentions: ["a/live", "HEAD~1"])
        let initCommit = try commits().last!
        try expectError(["get", "a/live", "--at", String(initCommit.prefix(8)), "--reveal"], values: [value],
                        mentions: ["a/live", String(initCommit.prefix(8))])
        try expectError(["get", "a/live", "--at", "v2", "--reveal"], values: [value], mentions: ["a/live", "v2"])
        try expectError(["get", "a/live", "--at", "nosuchrev", "--reveal"], values: [value], mentions: ["a/live", "nosuchrev"])
        try expectError(["get", "a/live", "--at", "HEAD~9", "--reveal"], values: [value], mentions: ["a/live", "HEAD~9"])
        try expectError(["rollback", "a/live", "--to", "HEAD~1"], values: [value], mentions: ["a/live", "HEAD~1"])

        // Deleted: get --at the deletion is an error; restore works; restore again is refused.
        try cofOK(["rm", "a/live"])
        try expectError(["get", "a/live", "--at", "v2", "--reveal"], values: [value], mentions: ["a/live", "v2"])
        try expectError(["get", "a/live", "--at", "HEAD", "--reveal"], values: [value], mentions: ["a/live", "HEAD"])
        try expectError(["get", "a/live", "--reveal"], values: [value], mentions: ["a/live"])
        try cofOK(["restore", "a/live"])
        XCTAssertEqual(String(decoding: try reveal("a/live"), as: UTF8.self), value)
        try expectError(["restore", "a/live"], values: [value], mentions: ["a/live"])
        XCTAssertEqual(historyRows(try cofOK(["history", "a/live"]).stdoutText).map(\.action), ["restore", "rm", "set"])
    }
}
