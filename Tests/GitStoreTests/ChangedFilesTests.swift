#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import GitStore
import TestServers
import XCTest

/// The two ways of listing the named files that differ between trees —
/// `GitRepository.changedFiles(named:)`, pairing names, and
/// `PathWalker.changedFiles(named:)`, one pass over raw trees in git's
/// order, which the trust judge uses on every write — agree, and the
/// second declines a tree out of order rather than pair it wrongly.
final class ChangedFilesTests: GitTestCase {
    private let names: Set<String> = [".recipients", ".signers"]

    private func commitAll(_ repo: GitRepository, _ message: String) throws -> ObjectID {
        try git(repo, "add", "-A")
        try git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "--allow-empty", "-m", message)
        return try XCTUnwrap(ObjectID(hex: try git(repo, "rev-parse", "HEAD^{tree}").output.trimmingCharacters(in: .newlines)))
    }

    func testBothComparisonsAgree() throws {
        let repo = try makeRepository()
        for (path, text) in [(".recipients", "r"), ("a/.recipients", "a"), ("a/x.age", "x"), ("b/.signers", "s"), ("c", "file"),
                             ("d/.recipients", "d"), ("e/deep/.recipients", "e"), ("same/.recipients", "same")] {
            try writeWorkTreeFile(repo, path, Array(text.utf8))
        }
        let before = try commitAll(repo, "before")
        try writeWorkTreeFile(repo, "a/.recipients", Array("a2".utf8))
        try writeWorkTreeFile(repo, "a/x.age", Array("x2".utf8))
        XCTAssertEqual(unlink(repo.workTree + "/b/.signers"), 0)
        XCTAssertEqual(unlink(repo.workTree + "/c"), 0)
        try writeWorkTreeFile(repo, "c/.recipients", Array("now a directory".utf8))
        XCTAssertEqual(unlink(repo.workTree + "/d/.recipients"), 0)
        XCTAssertEqual(symlink("elsewhere", repo.workTree + "/d/.recipients"), 0)
        try writeWorkTreeFile(repo, "e/deep/.recipients", Array("e2".utf8))
        try writeWorkTreeFile(repo, "f/.recipients", Array("new".utf8))
        let after = try commitAll(repo, "after")

        let walker = try PathWalker(repo)
        for (old, new) in [(before, after), (after, before), (nil, after), (before, nil), (before, before)] as [(ObjectID?, ObjectID?)] {
            let paired = try repo.changedFiles(named: names, from: old, to: new)
            let walked = try XCTUnwrap(walker.changedFiles(named: names, from: old, to: new))
            XCTAssertEqual(walked, paired, "\(String(describing: old)) → \(String(describing: new))")
        }
        let paths = try XCTUnwrap(walker.changedFiles(named: names, from: before, to: after)).map(\.path)
        XCTAssertEqual(paths, ["a/.recipients", "b/.signers", "c/.recipients", "d/.recipients", "e/deep/.recipients", "f/.recipients"])
        XCTAssertEqual(walker.changedFiles(named: names, from: before, to: after)?.first { $0.path == "d/.recipients" }?.otherKind, true)
    }

    func testATreeOutOfGitsOrderIsLeftToThePairingComparison() throws {
        let repo = try makeRepository()
        try writeWorkTreeFile(repo, "x/.recipients", Array("one".utf8))
        try writeWorkTreeFile(repo, "x/a.age", Array("a".utf8))
        let sorted = try commitAll(repo, "sorted")
        let blob = { (text: String) throws -> String in
            try self.writeWorkTreeFile(repo, "tmp", Array(text.utf8))
            return try self.git(repo, "hash-object", "-w", "tmp").output.trimmingCharacters(in: .newlines)
        }
        // x's entries written in reverse: a.age before .recipients.
        let inner = try handMadeTree(repo, [("100644", "a.age", blob("a")), ("100644", ".recipients", blob("two"))])
        let root = try handMadeTree(repo, [("40000", "x", inner)])
        let unsorted = try XCTUnwrap(ObjectID(hex: root))
        XCTAssertNil(try PathWalker(repo).changedFiles(named: names, from: sorted, to: unsorted))
        XCTAssertEqual(try repo.changedFiles(named: names, from: sorted, to: unsorted).map(\.path), ["x/.recipients"])
    }

    /// Trees only a hand (or a hostile push) makes: a link or submodule
    /// type with execute bits, a file and a directory of one name, a mode
    /// with a sign. The one-pass comparison reports the change (as a link,
    /// held by the judge) or declines the tree; it never misses one.
    func testHandMadeModesAreReportedOrDeclined() throws {
        let repo = try makeRepository()
        let blob = { (text: String) throws -> String in
            try self.writeWorkTreeFile(repo, "tmp", Array(text.utf8))
            return try self.git(repo, "hash-object", "-w", "tmp").output.trimmingCharacters(in: .newlines)
        }
        let a = try blob("readers"), other = try blob("other")
        func root(_ inner: [(String, String, String)]) throws -> ObjectID {
            try XCTUnwrap(ObjectID(hex: try handMadeTree(repo, [("40000", "s", try handMadeTree(repo, inner))])))
        }
        let walker = try PathWalker(repo)
        let plain = try root([("100644", ".recipients", a)])
        for mode in ["120001", "120000", "160000", "120100"] {
            let odd = try root([(mode, ".recipients", a)])
            let walked = try XCTUnwrap(walker.changedFiles(named: names, from: plain, to: odd), mode)
            XCTAssertEqual(walked, [FileChange(path: "s/.recipients", old: ObjectID(hex: a), new: nil, otherKind: true)], mode)
            if mode != "120100" {  // libgit2 1.5 reads 120100 as an executable file; git, and this walk, as a link
                XCTAssertEqual(try repo.changedFiles(named: names, from: plain, to: odd), walked, mode)
            }
        }
        let link = try root([("120000", ".recipients", a)]), submodule = try root([("160000", ".recipients", a)])
        XCTAssertEqual(walker.changedFiles(named: names, from: link, to: submodule)?.map(\.otherKind), [true])
        XCTAssertEqual(walker.changedFiles(named: names, from: link, to: submodule), try repo.changedFiles(named: names, from: link, to: submodule))
        // A file and a directory both named .recipients (git fsck: duplicateEntries).
        let twice = try root([("100644", ".recipients", a), ("100644", ".recipients.x", other),
                              ("40000", ".recipients", try handMadeTree(repo, [("100644", "f", other)]))])
        XCTAssertNil(walker.changedFiles(named: names, from: plain, to: twice))
        // A mode libgit2 reads (its strtol takes a sign) and this walk does not.
        let signed = try root([("+100644", ".recipients", other)])
        XCTAssertNil(walker.changedFiles(named: names, from: plain, to: signed))
        XCTAssertEqual(try repo.changedFiles(named: names, from: plain, to: signed).map(\.path), ["s/.recipients"])
    }

    /// A tree object written as given (see `TestTools.handMadeTree`).
    private func handMadeTree(_ repo: GitRepository, _ entries: [(String, String, String)]) throws -> String {
        try TestTools.handMadeTree(entries, in: repo.workTree, scratch: dir)
    }
}
