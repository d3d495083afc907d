import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer ui` and the terminal it runs on, through tmux: no terminal, a
/// narrow or tiny one, colours and NO_COLOR, and signals from outside.
/// Whatever ends the UI, the screen and the scrollback keep no value.
final class ScreenUITests: TerminalUICase {
    // MARK: no terminal

    func testRefusesToStartWithoutATerminal() throws {
        try seed()
        let refused = try cof(["ui"])
        assertCofferError(refused)
        XCTAssertTrue(refused.stderrText.contains("needs a terminal"), refused.stderrText)
        XCTAssertEqual(refused.stdout, Data(), "nothing is drawn when there is no terminal")
    }

    // MARK: the terminal's size

    func testFitsSixtyColumnsAndSaysWhenTheTerminalIsTooSmall() throws {
        try seed()
        try startUI(columns: 100, rows: 20)
        try press("j", "j")
        try screen(showing: "›   api")
        try resize(columns: 60, rows: 20)
        var shown = try screen("the keys line cut at 60 columns") { $0.keys.count == 60 && $0.keys.hasSuffix("…") }
        XCTAssertEqual(shown.keys, "q quit · ? help · / search · v reveal · a add · e edit · g …")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))
        XCTAssertTrue(shown.lines[0].hasPrefix(" coffer ui "), shown.lines[0])
        for row in shown.lines { XCTAssertLessThanOrEqual(row.count, 60, row) }

        // A value too long for the row is cut with an ellipsis, and still hidden by the next key.
        try press("v")
        shown = try screen(showing: "›   api  = CANARY-api-", revealing: api)
        let row = try XCTUnwrap(shown.selected)
        XCTAssertEqual(row.count, 60, row)
        XCTAssertTrue(row.hasSuffix("…"), row)
        XCTAssertTrue(row.contains(randomPart(api)), row)
        try press("x")
        shown = try screen(status: "hidden again", revealing: api)
        XCTAssertEqual(shown.selected, "›   api")

        // Too small: it says so, wrapped to the width, and comes back when the terminal does.
        try resize(columns: 26, rows: 6)
        shown = try screen(showing: "The terminal is too small")
        XCTAssertEqual(shown.lines.filter { !$0.isEmpty }.joined(separator: " "),
                       "The terminal is too small for coffer ui (26×6): make it at least 30×8, or press q.")
        try resize(columns: 100, rows: 20)
        shown = try screen(showing: "›   api")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 3))
        // q still quits while it is too small.
        try resize(columns: 26, rows: 6)
        try screen(showing: "The terminal is too small")
        try quit()
    }

    // MARK: colour

    func testNoColorTurnsColoursOffButNotBoldOrReverse() throws {
        try seed()
        for (setting, wanted) in [("1", false), (nil, true), ("", true)] as [(String?, Bool)] {
            try startUI(colour: setting == nil, noColor: setting)
            try press("v")
            try screen(showing: "›   top  = " + top, revealing: top)
            let codes = sgrCodes(try capture(["-e"], revealing: top))
            let what = "NO_COLOR=\(setting.map { "“\($0)”" } ?? "unset")"
            XCTAssertTrue(codes.contains(7), "\(what): the selection is in reverse video (\(codes.sorted()))")
            XCTAssertTrue(codes.contains(1), "\(what): headings are bold (\(codes.sorted()))")
            let colours = codes.filter { (30...38).contains($0) || (40...48).contains($0) || (90...97).contains($0) || (100...107).contains($0) }
            if wanted {
                XCTAssertTrue(colours.isSuperset(of: [33, 36]), "\(what): cyan headings, a yellow value (\(codes.sorted()))")
            } else {
                XCTAssertEqual(colours, [], "\(what): colour codes on the screen")
            }
            try press("x")
            try screen(status: "hidden again", revealing: top)
            try quit()
        }
    }

    /// Every SGR parameter in `capture-pane -e` output (`ESC [ 1;36 m` gives 1 and 36).
    private func sgrCodes(_ text: String) -> Set<Int> {
        var codes: Set<Int> = []
        for part in text.components(separatedBy: "\u{1B}[").dropFirst() {
            guard let end = part.firstIndex(where: { !"0123456789;".contains($0) }), part[end] == "m" else { continue }
            codes.formUnion(part[..<end].split(separator: ";").compactMap { Int($0) })
        }
        return codes
    }

    // MARK: signals

    func testASignalFromOutsideClearsTheScreenFirst() throws {
        try seed()
        // The word /bin/sh (dash) says of a child a signal ended.
        for (signal, word) in [(SIGTERM, "Terminated"), (SIGHUP, "Hangup"), (SIGQUIT, "Quit"), (SIGINT, nil)] {
            try startUI()
            try press("v")
            try screen(showing: "›   top  = " + top, revealing: top)
            kill(try uiProcess(), signal)
            try assertExited(status: 128 + signal, shellSays: word, revealing: top)
        }
    }

    func testStoppedFromOutsideItGivesTheScreenBackAndHidesTheValueOnResuming() throws {
        try seed()
        try startUI(jobControl: true)
        try press("v")
        try screen(showing: "›   top  = " + top, revealing: top)
        let ui = try uiProcess()
        kill(ui, SIGTSTP)
        // Stopped, with the user's screen back: blank, nothing of the UI's.
        var shown = try screen("the screen given back", revealing: top) { $0.lines.allSatisfy(\.isEmpty) }
        assertNoValue(in: shown.text, "the screen while stopped")
        _ = try capture(["-S", "-", "-E", "-"])
        waitUntilStopped(ui)
        kill(ui, SIGCONT)
        shown = try screen(status: "hidden again")
        XCTAssertEqual(treeRows(shown), seededTree(selected: 1))
        try quit()
    }
}
