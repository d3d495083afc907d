import ArgumentParser
import XCTest
@testable import coffer

/// The argv reshaping done before both parsers, in-process.
final class CommandLineShapeTests: XCTestCase {
    func testGlobalOptionsMoveAfterTheSubcommandPath() {
        XCTAssertEqual(CommandLineShape.normalize(["--vault", "v", "list"]), ["list", "--vault", "v"])
        XCTAssertEqual(CommandLineShape.normalize(["--vault=v", "--identity", "i", "recipients", "add", "k"]),
                       ["recipients", "add", "--vault=v", "--identity", "i", "k"])
        XCTAssertEqual(CommandLineShape.normalize(["--passphrase-file", "p", "get", "x", "--reveal"]),
                       ["get", "--passphrase-file", "p", "x", "--reveal"])
        // Already after: unchanged.
        XCTAssertEqual(CommandLineShape.normalize(["get", "x", "--vault", "v"]), ["get", "x", "--vault", "v"])
        // Other options before the subcommand are left for ArgumentParser to refuse.
        XCTAssertEqual(CommandLineShape.normalize(["-o", "json", "list"]), ["-o", "json", "list"])
    }

    func testAttachedShortValuesAreSplit() {
        XCTAssertEqual(CommandLineShape.normalize(["log", "-n1"]), ["log", "-n", "1"])
        XCTAssertEqual(CommandLineShape.normalize(["get", "x", "-ojson"]), ["get", "x", "-o", "json"])
        XCTAssertEqual(CommandLineShape.normalize(["age", "decrypt", "-ikey.txt"]), ["age", "decrypt", "-i", "key.txt"])
        // Flags, long options, lone short options and everything after `--` stay as typed.
        XCTAssertEqual(CommandLineShape.normalize(["get", "x", "-y", "--number=1", "-n"]), ["get", "x", "-y", "--number=1", "-n"])
        XCTAssertEqual(CommandLineShape.normalize(["set", "--", "-n1"]), ["set", "--", "-n1"])
        XCTAssertEqual(CommandLineShape.normalize(["set", "a=-n1"]), ["set", "a=-n1"])
    }

    /// ArgumentParser derives a missing name from the type's name through
    /// `String(describing:)`, a scan of every protocol conformance in the
    /// binary per command: millions of instructions at each start.
    func testEveryCommandNamesItself() {
        var unnamed: [String] = []
        func visit(_ command: ParsableCommand.Type, _ path: String) {
            guard let name = command.configuration.commandName else {
                unnamed.append(path + " " + String(describing: command))
                return
            }
            for sub in command.configuration.subcommands { visit(sub, path + " " + name) }
        }
        visit(CofferCommand.self, "")
        XCTAssertEqual(unnamed, [])
    }

    func testCommandPath() {
        let path = CommandLineShape.commandPath(["recipients", "add", "--scope", "x"])
        XCTAssertEqual(path.names, ["recipients", "add"])
        XCTAssertEqual(path.next, "--scope")
        XCTAssertEqual(CommandLineShape.commandPath(["sett"]).names, [])
        XCTAssertEqual(CommandLineShape.commandPath(["sett"]).next, "sett")
        XCTAssertNil(CommandLineShape.commandPath(["identity", "show"]).next)
        XCTAssertEqual(CommandLineShape.commandPath(["--vault", "v", "--identity=i", "sett"]).next, "sett")
        // An alias names its command, as ArgumentParser would parse it.
        XCTAssertEqual(CommandLineShape.commandPath(["remote", "rm", "origin"]).names, ["remote", "rm"])
        XCTAssertEqual(CommandLineShape.commandPath(["remote", "rm", "origin"]).next, "origin")
        XCTAssertEqual(CommandLineShape.normalize(["--vault", "v", "remote", "rm", "o"]), ["remote", "rm", "--vault", "v", "o"])
    }

    func testNearestCommand() {
        let root = CommandLineShape.subcommandNames(of: CofferCommand.self)
        XCTAssertFalse(root.contains("textconv"), "hidden commands are never suggested")
        XCTAssertEqual(CommandSuggestion.nearest(to: "sett", in: root), "set")
        XCTAssertEqual(CommandSuggestion.nearest(to: "lsit", in: root), "list")
        XCTAssertEqual(CommandSuggestion.nearest(to: "recip", in: root), "recipients")
        XCTAssertEqual(CommandSuggestion.nearest(to: "ad", in: ["list", "add", "rm"]), "add")
        XCTAssertNil(CommandSuggestion.nearest(to: "bundle", in: root))
        XCTAssertNil(CommandSuggestion.nearest(to: "zq", in: root), "two edits of a two-letter word is no suggestion")
        XCTAssertEqual(CommandSuggestion.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(CommandSuggestion.editDistance("", "abc"), 3)
        XCTAssertEqual(CommandSuggestion.editDistance("lsit", "list"), 1, "a swap is one edit")
    }
}
