import Foundation
import XCTest

/// `coffer ui` end to end, driven through tmux: each task as a user does it
/// with keys, each screen as the terminal shows it, and the vault's history
/// afterwards (the commits the CLI makes). No capture shows a value the step
/// has not just revealed, and after quitting neither the screen nor the
/// scrollback holds anything the UI drew. (ScreenUITests: the terminal itself.)
final class UITests: TerminalUICase {
    // MARK: browsing

    func testMovesFoldsAndSearches() throws {
        try seed()
        try startUI()
        var shown = try screen(showing: "›   top")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 1))
        XCTAssertTrue(shown.lines[0].contains("3 secrets in 2 scopes"), shown.lines[0])
        XCTAssertEqual(shown.status, "")
        XCTAssertTrue(shown.keys.hasPrefix("q quit · ? help · / search · v reveal · a add"), shown.keys)

        try press("j")
        try screen(showing: "› ▾ prod")
        try press("Down")
        try screen(showing: "›   api")
        try press("j")
        try screen(showing: "›   db")
        try press("k")
        shown = try screen(showing: "›   api")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))
        // ← on a secret goes to its scope's heading; on the heading it folds.
        try press("h")
        try screen(showing: "› ▾ prod  readers: tester  (2)")
        try press("Left")
        shown = try screen(showing: "› ▸ prod  readers: tester  (2)")
        XCTAssertEqual(treeRows(shown), Array(seededTree(selected: 2).prefix(2)) + ["› ▸ prod  readers: tester  (2)"])
        try press("l")
        shown = try screen(showing: "› ▾ prod")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 2))
        try press("Up")
        try screen(showing: "›   top")

        // Search narrows as you type (any case), under the headings of the scopes that match.
        try press("/")
        try screen(status: "/▏  3 found")
        try type("DB")
        shown = try screen(status: "/DB▏  1 found")
        XCTAssertEqual(treeRows(shown), ["  ▾ prod  readers: tester  (1 of 2)", "›   db"])
        try type("x")
        shown = try screen(status: "/DBx▏  0 found")
        XCTAssertEqual(treeRows(shown), ["  Nothing matches “DBx”."])
        try press("BSpace")
        try screen(status: "/DB▏  1 found")
        // Enter keeps the search while browsing; Esc clears it and keeps the selection.
        try press("Enter")
        shown = try screen(status: "search: DB  (1 found; Esc clears)")
        XCTAssertEqual(treeRows(shown), ["  ▾ prod  readers: tester  (1 of 2)", "›   db"])
        try press("Escape")
        shown = try screen(showing: "  top")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 4))
        XCTAssertEqual(shown.status, "")
        // Esc while typing a search clears it too.
        try press("/")
        try type("api")
        try screen(status: "/api▏  1 found")
        try press("Escape")
        shown = try screen("the search cleared") { $0.status == "" && $0.text.contains("  top") }
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))

        // ? lists the keys; any key goes back.
        try press("?")
        shown = try screen(showing: "coffer ui keys")
        XCTAssertEqual(shown.keys, "↑↓ scroll · any other key: back")
        try press("x")
        shown = try screen(showing: "›   api")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))
        try quit()
        XCTAssertEqual(try lastChanges(1).map(\.action), ["set"], "browsing changes nothing")
    }

    func testChangesMadeElsewhereShowAfterAFailureOrCtrlL() throws {
        try seed()
        try startUI()
        try press("j", "j", "j")
        try screen(showing: "›   db")
        // The selected secret removed elsewhere: revealing it fails, says so, and the tree is read again.
        try cofOK(["rm", "prod/db"])
        try press("v")
        var shown = try screen("an error on the status line") { $0.status.hasPrefix("error: ") }
        XCTAssertTrue(shown.status.contains("prod/db"), shown.status)
        XCTAssertEqual(treeRows(shown), ["  ▾ /  readers: tester  (1)", "›   top", "  ▾ prod  readers: tester  (1)", "    api"])
        // A secret added elsewhere shows after Ctrl-L.
        let extra = value("extra")
        try cofOK(["set", "prod/extra=" + extra])
        XCTAssertFalse(try capture().contains("extra"), "the tree changed before Ctrl-L")
        try press("C-l")
        shown = try screen(showing: "    extra")
        // The prod heading counts 2 again: api and extra.
        XCTAssertEqual(treeRows(shown), Array(seededTree(selected: 1).prefix(4)) + ["    extra"])
        XCTAssertTrue(shown.lines[0].contains("3 secrets in 2 scopes"), shown.lines[0])
        try press("End")
        try screen(showing: "›   extra")
        try press("v")
        try screen(showing: "›   extra  = " + extra, revealing: extra)
        try press("x")
        try screen(status: "hidden again", revealing: extra)
        try quit()
    }

    // MARK: adding and deleting

    func testAddsWithMaskedInputAndDeletesAfterConfirmation() throws {
        try seed()
        let commits = try commitCount()
        let typed = value("typed"), mistyped = value("mistyped")
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")

        // Esc cancels a question.
        try press("a")
        try screen(status: "New secret id: prod/▏")
        try press("Escape")
        try screen(status: "cancelled; nothing was changed")

        // Two different values: nothing is written.
        try press("a")
        try screen(status: "New secret id: prod/▏")
        try press("C-u")
        try screen(status: "New secret id: ▏")
        try type("prod/new")
        try screen(status: "New secret id: prod/new▏")
        try press("Enter")
        try screen(status: "Value for prod/new: (typing is hidden)")
        try type(typed)
        try press("Enter")
        try screen(status: "Value again: (typing is hidden)")
        try type(mistyped)
        try press("Enter")
        try screen(status: "the two values differ; nothing was changed")
        XCTAssertEqual(try commitCount(), commits)

        try press("a")
        try screen(showing: "New secret id: ")
        // Keys sent with the question would be dropped: answered only after it shows.
        try press("C-u")
        try screen(status: "New secret id: ▏")
        try type("prod/new")
        try press("Enter")
        try screen(status: "Value for prod/new: (typing is hidden)")
        try type(typed)
        _ = try capture()
        try press("Enter")
        try screen(status: "Value again: (typing is hidden)")
        try type(typed)
        try press("Enter")
        var shown = try screen(status: "set prod/new")
        XCTAssertEqual(shown.selected, "›   new")
        XCTAssertTrue(shown.text.contains("▾ prod  readers: tester  (3)"), "\(shown)")
        XCTAssertTrue(shown.lines[0].contains("4 secrets in 2 scopes"), shown.lines[0])
        XCTAssertEqual(try commitCount(), commits + 1)
        XCTAssertEqual(try headChanges(), ["A prod/new.age"])
        XCTAssertEqual(try lastChanges(1).first?.action, "set")
        XCTAssertEqual(try lastChanges(1).first?.ids, ["prod/new"])
        XCTAssertEqual(try reveal("prod/new"), Data(typed.utf8))
        XCTAssertFalse(try gitOK(["log", "--format=%B"]).stdoutText.contains(typed), "the value is in a commit message")

        // An existing id is refused with a hint.
        try press("a")
        try screen(showing: "New secret id: ")
        // Keys sent with the question would be dropped: answered only after it shows.
        try press("C-u")
        try type("prod/api")
        try press("Enter")
        try screen(status: "error: prod/api already exists (select it and press e to change its value)")

        // Delete: anything but y keeps it; y removes it in one commit.
        // A question is answered only by a key pressed after it shows: `d y j` in one burst
        // (a paste into a terminal without bracketed paste) asks, and deletes nothing.
        try press("d", "y", "j")
        try screen(status: "Delete prod/new? Its history keeps it (coffer restore prod/new). [y/N]")
        XCTAssertEqual(try commitCount(), commits + 1)
        try press("n")
        try screen(status: "not confirmed; nothing was changed")
        XCTAssertEqual(try commitCount(), commits + 1)
        try press("d")
        try screen(showing: "[y/N]")
        try press("y")
        shown = try screen(status: "removed prod/new")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 1))
        XCTAssertTrue(shown.lines[0].contains("3 secrets in 2 scopes"), shown.lines[0])
        try quit()
        XCTAssertEqual(try commitCount(), commits + 2)
        XCTAssertEqual(try headChanges(), ["D prod/new.age"])
        let changes = try lastChanges(2)
        XCTAssertEqual(changes.map(\.action), ["rm", "set"])
        XCTAssertEqual(changes.map(\.ids), [["prod/new"], ["prod/new"]])
        XCTAssertEqual(try cof(["get", "prod/new", "--reveal"]).status, 1, "prod/new is gone")
    }

    func testGeneratesAndRenamesWithTheCommitsOfTheCommands() throws {
        try seed()
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")
        // g asks for the id, the selected one first; a new id needs no confirmation.
        try press("g")
        try screen(status: "Generate a random value for id: prod/api▏")
        try press("C-u")
        try type("prod/token")
        try press("Enter")
        var shown = try screen(status: "generated prod/token: 32 characters (alnum), 190 bits of entropy; v reveals it")
        XCTAssertEqual(shown.selected, "›   token")
        XCTAssertEqual(try lastChanges(1).first?.action, "generate")
        XCTAssertEqual(try lastChanges(1).first?.ids, ["prod/token"])
        let generated = String(decoding: try reveal("prod/token"), as: UTF8.self)
        XCTAssertNotNil(generated.range(of: "^[A-Za-z0-9]{32}$", options: .regularExpression), generated)

        // A new value for an existing id asks first.
        try press("g")
        try screen(status: "Generate a random value for id: prod/token▏")
        try press("Enter")
        try screen(status: "Give prod/token a new random value? Its history keeps the old one. [y/N]")
        try press("n")
        try screen(status: "not confirmed; nothing was changed")
        XCTAssertEqual(String(decoding: try reveal("prod/token"), as: UTF8.self), generated)

        // r renames, the old id prefilled.
        try press("r")
        try screen(status: "Rename prod/token to: prod/token▏")
        try press("C-u")
        try type("prod/key")
        try press("Enter")
        shown = try screen(status: "moved prod/token to prod/key")
        XCTAssertEqual(shown.selected, "›   key")
        XCTAssertFalse(shown.body.contains { $0.contains("token") }, "\(shown)")
        try quit()
        let changes = try lastChanges(2)
        XCTAssertEqual(changes.map(\.action), ["mv", "generate"])
        XCTAssertEqual(changes.first?.ids, ["prod/token", "prod/key"])
        XCTAssertEqual(String(decoding: try reveal("prod/key"), as: UTF8.self), generated)
        assertNeverShown(generated)
    }

    func testAPasteIsTakenWholeIntoTheAnswerAndNeverReadAsKeys() throws {
        try seed()
        let first = value("line1"), second = value("line2")
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")
        // Pasted in the tree, `dy` and `q` do nothing: no delete, no quit.
        try paste("dyq\n")
        var shown = try screen(status: "a paste goes only into a question's answer; nothing was done")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))

        // A one-line answer leaves out a paste of two lines.
        try press("a")
        try screen(showing: "New secret id: ")
        // Keys sent with the question would be dropped: answered only after it shows.
        try press("C-u")
        try screen(status: "New secret id: ▏")
        try paste("prod/x\nprod/y")
        try screen(status: "New secret id: ▏  this answer is one line; the paste was left out")
        try type("z")
        try screen(status: "New secret id: z▏")
        try press("C-u")
        try paste("prod/pasted")
        try screen(status: "New secret id: prod/pasted▏")
        try press("Enter")
        try screen(status: "Value for prod/pasted: (typing is hidden)")
        // A value keeps its lines (a terminal sends each as CR; it is stored as LF).
        try paste(first + "\n" + second)
        try press("Enter")
        try screen(status: "Value again: (typing is hidden)")
        try paste(first + "\n" + second)
        try press("Enter")
        shown = try screen(status: "set prod/pasted")
        XCTAssertEqual(shown.selected, "›   pasted")
        try quit()
        XCTAssertEqual(try reveal("prod/pasted"), Data((first + "\n" + second).utf8))
        XCTAssertEqual(try lastChanges(1).first?.action, "set")
        XCTAssertEqual(try cof(["get", "prod/api", "--reveal"]).status, 0, "prod/api was not deleted")
    }

    // MARK: revealing

    func testRevealShowsOneValueUntilTheNextKeyWhichDoesNothingElse() throws {
        try seed()
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")
        try press("v")
        var shown = try screen(showing: "›   api  = " + api, revealing: api)
        XCTAssertEqual(shown.selected, "›   api  = " + api)
        XCTAssertEqual(shown.text.components(separatedBy: api).count, 2, "the value shows once:\n\(shown)")
        XCTAssertEqual(shown.status, "prod/api is shown until the next key (or 10 s)")
        try assertLastAudit("reveal:ui", ids: ["prod/api"], commit: try head())

        // The next key hides it and does nothing else: the selection stays.
        try press("j")
        shown = try screen(status: "hidden again", revealing: api)
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))
        try press("j")
        try screen(showing: "›   db")

        // Even q only hides; the second quits.
        try press("v")
        try screen(showing: "›   db  = " + db, revealing: db)
        try press("q")
        shown = try screen(status: "hidden again", revealing: db)
        XCTAssertEqual(shown.selected, "›   db")
        XCTAssertFalse(shown.text.contains("UI-EXITED"))

        // A heading has no value.
        try press("h")
        try screen(showing: "› ▾ prod")
        try press("v")
        try screen(status: "select a secret to reveal (↑↓, then the key)")
        try quit(with: "C-c")
    }

    func testRevealHidesByItselfAfterItsTime() throws {
        try seed()
        try startUI(env: ["COFFER_UI_REVEAL_SECONDS": "1"])
        try press("v")
        let shown = try screen(showing: "›   top  = " + top, revealing: top)
        let start = Date()
        XCTAssertEqual(shown.status, "top is shown until the next key (or 1 s)")
        let hidden = try screen("the value hidden without a key", revealing: top) { $0.status == "hidden again" }
        let took = Date().timeIntervalSince(start)
        XCTAssertEqual(hidden.selected, "›   top")
        XCTAssertGreaterThan(took, 0.5, "hidden too soon")
        XCTAssertLessThan(took, 5, "hidden too late")
        try quit()

        // The time is kept within 1–60 s.
        for (asked, kept) in [("0", 1), ("600", 60), ("soon", 10)] {
            try startUI(env: ["COFFER_UI_REVEAL_SECONDS": asked])
            try press("v")
            try screen(status: "top is shown until the next key (or \(kept) s)", revealing: top)
            try press("x")
            try screen(status: "hidden again", revealing: top)
            try quit()
        }
    }

    // MARK: history

    func testRollsBackToAnOlderVersionFromTheHistory() throws {
        try seed()
        let second = value("second")
        let first = api
        let v1 = try head()
        try cofOK(["set", "prod/api=" + second])
        let v2 = try head()
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")
        try press("Enter")
        var shown = try screen(showing: "History of prod/api  (newest first)")
        XCTAssertEqual(shown.body[0], "History of prod/api  (newest first)")
        assertVersionRow(shown.body[1], "› v2", "set  value", v2)
        assertVersionRow(shown.body[2], "  v1", "set  created", v1)
        XCTAssertEqual(shown.keys, "Esc back · ↑↓ version · v reveal · r roll back to it · ? help")

        // ? and back: the help returns to the history.
        try press("?")
        try screen(showing: "coffer ui keys")
        try press("x")
        try screen(showing: "History of prod/api")

        // An old version is revealed on the row below its own, then hidden.
        try press("j")
        try screen(showing: "› v1")
        try press("v")
        shown = try screen(showing: "    = " + first, revealing: first)
        assertVersionRow(shown.body[2], "› v1", "set  created", v1)
        XCTAssertEqual(shown.body[3], "    = " + first)
        XCTAssertFalse(shown.text.contains(second))
        XCTAssertEqual(shown.status, "v1 is shown until the next key (or 10 s)")
        try assertLastAudit("reveal:ui", ids: ["prod/api"], commit: v1)
        try press("x")
        try screen(status: "hidden again", revealing: first)

        try press("r")
        shown = try screen(showing: "[y/N]")
        XCTAssertTrue(shown.status.hasPrefix("Roll prod/api back to v1 (\(v1.prefix(8)), "), shown.status)
        XCTAssertTrue(shown.status.hasSuffix("It comes back as a new version. [y/N]"), shown.status)
        try press("y")
        shown = try screen(status: "rolled back prod/api to v1")
        let v3 = try head()
        assertVersionRow(shown.body[1], "› v3", "rollback  restored", v3)
        assertVersionRow(shown.body[2], "  v2", "set  value", v2)
        assertVersionRow(shown.body[3], "  v1", "set  created", v1)

        // Back in the tree, the value shown is the first again.
        try press("Escape")
        try screen(showing: "›   api")
        try press("v")
        try screen(showing: "›   api  = " + first, revealing: first)
        try press("x")
        try screen(status: "hidden again", revealing: first)
        try quit()

        XCTAssertEqual(try lastChanges(1).first?.action, "rollback")
        XCTAssertEqual(try lastChanges(1).first?.ids, ["prod/api"])
        let history = try JSONSerialization.jsonObject(with: try cofOK(["history", "prod/api", "-o", "json"]).stdout) as? [String: Any]
        let versions = history?["versions"] as? [[String: Any]] ?? []
        XCTAssertEqual(versions.map { $0["action"] as? String ?? "" }, ["rollback", "set", "set"])
        XCTAssertEqual(versions.map { $0["change"] as? String ?? "" }, ["restored", "value", "created"])
        XCTAssertEqual(versions.first?["commit"] as? String, v3)
        XCTAssertEqual(try cofOK(["get", "prod/api", "--reveal", "--yes"]).stdoutText, first)
    }

    /// A history row: `› v2  2026-01-31 12:34  set  value  verified tester  tester  0123abcd`.
    private func assertVersionRow(_ row: String, _ version: String, _ what: String, _ commit: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        let pattern = "^\(version)  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}  \(what)  verified tester  tester  \(commit.prefix(8))$"
        XCTAssertNotNil(row.range(of: pattern, options: .regularExpression), "history row: \(row)", file: file, line: line)
    }

    // MARK: readers

    func testAddsAndRemovesAReaderAndListsWhatTheyCouldRead() throws {
        try seed()
        let me = try publicKey()
        let bob = try cofferKeygen("bob")
        try startUI()
        try press("j", "j")
        try screen(showing: "›   api")
        try press("R")
        var shown = try screen(showing: "Readers of prod  (each can read every secret of this scope)")
        XCTAssertEqual(shown.body.filter { $0.contains("  age1") }.count, 1, "one reader:\n\(shown)")
        XCTAssertTrue(shown.selected?.hasPrefix("› tester  ") == true && shown.selected?.hasSuffix("  " + me) == true, "\(shown)")
        XCTAssertEqual(shown.keys, "Esc back · ↑↓ reader · a add · d remove · ? help")

        try press("a")
        try screen(status: "Public key of the new reader (age1…, ssh-ed25519 …): ▏")
        try type(bob.recipient)
        try press("Enter")
        try screen(status: "Name for this reader: ▏")
        try type("bob")
        try press("Enter")
        shown = try screen(status: "added bob to prod; re-wrapped 2 secrets")
        XCTAssertTrue(shown.body.contains { $0.hasPrefix("  bob  ") && $0.hasSuffix("  " + bob.recipient) }, "\(shown)")
        XCTAssertEqual(try lastChanges(1).first?.action, "rewrap")
        XCTAssertEqual(try cofOK(["get", "prod/api", "--reveal", "--identity", bob.identityFile]).stdoutText, api)

        try press("j")
        try screen(showing: "› bob  ")
        try press("d")
        shown = try screen(showing: "[y/N]")
        XCTAssertEqual(shown.status, "Remove bob from prod? The secrets there get fresh keys, but bob may still know their values. [y/N]")
        try press("y")
        shown = try screen(status: "removed bob from prod; re-keyed 2 secrets")
        XCTAssertTrue(shown.text.replacingOccurrences(of: "\n", with: " ").contains(
            "bob could read 2 secrets and may still know their values; change them (select one, press e):"), "\(shown)")
        XCTAssertEqual(shown.body.filter { $0.hasPrefix("  prod/") }, ["  prod/api", "  prod/db"])
        XCTAssertEqual(shown.keys, "any key: back")
        try press("x")
        shown = try screen(showing: "Readers of prod")
        XCTAssertFalse(shown.body.contains { $0.contains("bob") }, "back in the readers panel, without bob: \(shown)")
        try press("Escape")
        try screen(showing: "›   api")
        try quit()

        let changes = try lastChanges(2)
        XCTAssertEqual(changes.map(\.action), ["rekey", "rewrap"])
        XCTAssertEqual(changes.map(\.ids), [["prod/api", "prod/db"], ["prod/api", "prod/db"]])
        XCTAssertNotEqual(try cof(["get", "prod/api", "--reveal", "--identity", bob.identityFile]).status, 0, "bob still reads prod/api")
        XCTAssertFalse(try String(contentsOfFile: vaultDir + "/prod/.recipients", encoding: .utf8).contains(bob.recipient))
    }
}
