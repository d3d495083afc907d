#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Foundation
@testable import GitStore
import TestServers
import XCTest

/// The native object store (`ObjectDirectory`, `PackFile`, `RefFiles`,
/// `GitConfigFile`) reads what stock git wrote exactly as git reads it —
/// loose objects, packs with both kinds of delta, packed refs — refuses
/// what is corrupt, and leaves to libgit2 what it does not handle.
final class NativeObjectsTests: GitTestCase {
    /// Runs git in `repo` and returns its raw stdout.
    private func gitBytes(_ repo: GitRepository, _ args: [String], identity: Bool = true) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gitPath)
        process.arguments = ["-C", repo.workTree] + (identity ? ["-c", "user.name=t", "-c", "user.email=t@localhost"] : []) + args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "git \(args.joined(separator: " "))")
        return Array(data)
    }

    private func gitText(_ repo: GitRepository, _ args: String...) throws -> String {
        String(decoding: try gitBytes(repo, args), as: UTF8.self)
    }

    /// The repository opened in libgit2, to compare with.
    private func openInLibgit2(_ repo: GitRepository) throws -> GitRepository {
        setenv("COFFER_GIT_NATIVE", "0", 1)
        defer { unsetenv("COFFER_GIT_NATIVE") }
        let library = try GitRepository.open(at: repo.workTree)
        XCTAssertNil(library.native)
        return library
    }

    /// A history git will pack with deltas: one large file edited a little
    /// in each of many commits, beside files that come and go.
    private func makeHistory(_ repo: GitRepository, commits: Int) throws {
        var lines = (0..<400).map { "line \($0) of a file long enough that git stores its versions as deltas" }
        for round in 0..<commits {
            lines[(round * 37) % lines.count] = "changed in round \(round)"
            try writeWorkTreeFile(repo, "big.txt", Array(lines.joined(separator: "\n").utf8))
            try writeWorkTreeFile(repo, "dir/\(round % 5).txt", Array("round \(round)".utf8))
            _ = try gitBytes(repo, ["add", "-A"])
            _ = try gitBytes(repo, ["commit", "-q", "-m", "round \(round)"])
        }
    }

    /// Every object reads back natively byte for byte as `git cat-file --batch` gives it.
    private func assertEveryObjectMatches(_ repo: GitRepository, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let native = try GitRepository.open(at: repo.workTree)
        XCTAssertNotNil(native.native, "the repository is opened natively", file: file, line: line)
        // "<id> <type> <size>\n<content>\n" for each object.
        let batch = try gitBytes(repo, ["cat-file", "--batch-all-objects", "--batch"])
        var at = 0, count = 0
        while at < batch.count {
            let newline = try XCTUnwrap(batch[at...].firstIndex(of: 0x0a))
            let parts = String(decoding: batch[at..<newline], as: UTF8.self).split(separator: " ")
            let id = try XCTUnwrap(ObjectID(hex: String(parts[0])))
            let size = try XCTUnwrap(Int(parts[2]))
            let object = try native.readObject(id)
            XCTAssertEqual(object.kind.name, String(parts[1]), "\(id)", file: file, line: line)
            XCTAssertEqual(object.bytes, Array(batch[(newline + 1)..<(newline + 1 + size)]), "\(id)", file: file, line: line)
            at = newline + 1 + size + 1
            count += 1
        }
        XCTAssertNotNil(native.native, "no object needed libgit2", file: file, line: line)
        return count
    }

    func testLooseAndPackedObjectsWithBothKindsOfDeltaReadAsGitReadsThem() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 12)
        XCTAssertGreaterThan(try assertEveryObjectMatches(repo), 30, "loose objects")

        // Offset deltas (git's default), then reference deltas.
        _ = try gitBytes(repo, ["repack", "-adf", "--depth=50", "--window=50", "-q"])
        let verify = try gitText(repo, "verify-pack", "-v", try packIndex(repo))
        XCTAssertTrue(verify.contains("chain length = 2"), "the pack holds delta chains:\n\(verify)")
        XCTAssertGreaterThan(try assertEveryObjectMatches(repo), 30)
        _ = try gitBytes(repo, ["-c", "repack.useDeltaBaseOffset=false", "repack", "-adf", "--depth=50", "--window=50", "-q"])
        XCTAssertGreaterThan(try assertEveryObjectMatches(repo), 30)

        // Loose objects beside the pack, and refs only in packed-refs.
        try makeHistory(repo, commits: 2)
        _ = try gitBytes(repo, ["pack-refs", "--all"])
        let head = try XCTUnwrap(ObjectID(hex: try gitText(repo, "rev-parse", "HEAD").trimmingCharacters(in: .newlines)))
        let native = try GitRepository.open(at: repo.workTree)
        XCTAssertEqual(try native.head(), head)
        XCTAssertEqual(try native.currentBranch(), try branch(repo))
        XCTAssertGreaterThan(try assertEveryObjectMatches(repo), 30)
    }

    private func packIndex(_ repo: GitRepository) throws -> String {
        let pack = repo.gitDirectory + "/objects/pack"
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: pack).first { $0.hasSuffix(".idx") })
        return pack + "/" + name
    }

    func testObjectsWrittenNativelyAreOnesGitAccepts() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 2)
        _ = try gitBytes(repo, ["gc", "-q"])
        let native = try GitRepository.open(at: repo.workTree)
        let head = try native.head()
        let blob = try native.writeBlob(Array("sealed bytes".utf8))
        try "sealed bytes".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        XCTAssertEqual(blob.hex + "\n", try gitText(repo, "hash-object", dir + "/plain"))
        let commit = try native.createCommit(parent: head, changes: [.write(path: "dir/new.age", blob: blob), .delete(path: "dir/0.txt")],
                                             message: "native", author: Signature(name: " Ada ", email: "ada@example.com"))
        try native.advanceHead(from: head, to: commit, message: "native")
        XCTAssertNotNil(native.native, "written without libgit2")
        let fsck = try gitText(repo, "fsck", "--full", "--strict", "--no-dangling")
        XCTAssertEqual(fsck, "")
        XCTAssertEqual(try gitText(repo, "cat-file", "blob", "HEAD:dir/new.age"), "sealed bytes")
        XCTAssertEqual(try gitText(repo, "log", "-1", "--format=%an <%ae>|%s"), "Ada <ada@example.com>|native\n")
        XCTAssertEqual(try gitText(repo, "diff", "--name-status", "HEAD~1", "HEAD"), "D\tdir/0.txt\nA\tdir/new.age\n")
        // The reflog names the author, as git's does.
        XCTAssertTrue(try gitText(repo, "reflog", "-1", "--format=%gn|%gs").hasPrefix("Ada|native"))
    }

    func testANativeBatchIsStoredLooseOrAsOnePackAndSurvivesLibgit2LoadingMidway() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 1)
        let native = try GitRepository.open(at: repo.workTree)
        var head = try native.head()
        // Many objects: one pack, which git verifies.
        let many = (0..<100).map { Array("sealed file \($0)".utf8) }
        let commit = try native.withBatchedObjectSync {
            let blobs = try many.map(native.writeBlob)
            XCTAssertEqual(try native.readBlob(blobs[0]), many[0], "a streamed blob reads back before the batch ends")
            return try native.createCommit(parent: head, changes: blobs.enumerated().map { .write(path: "many/\($0.offset)", blob: $0.element) },
                                           message: "many", author: author)
        }
        try native.advanceHead(from: head, to: commit, message: "many")
        head = commit
        XCTAssertNotNil(native.native)
        let packs = try FileManager.default.contentsOfDirectory(atPath: repo.gitDirectory + "/objects/pack").filter { $0.hasSuffix(".idx") }
        XCTAssertEqual(packs.count, 1)
        _ = try gitBytes(repo, ["verify-pack", repo.gitDirectory + "/objects/pack/" + packs[0]])
        XCTAssertEqual(try gitText(repo, "cat-file", "blob", "HEAD:many/7"), "sealed file 7")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.gitDirectory + "/coffer-incoming"))

        // libgit2 loaded in the middle of a batch (revision syntax is its):
        // what the batch held is stored then, and the rest follows.
        let second = try native.withBatchedObjectSync {
            let before = try native.writeBlob(Array("before".utf8))
            XCTAssertEqual(try native.resolve("HEAD~1"), try XCTUnwrap(try native.node(commit).parents.first))
            XCTAssertNil(native.native)
            let after = try native.writeBlob(Array("after".utf8))
            return try native.createCommit(parent: head, changes: [.write(path: "x/before", blob: before), .write(path: "x/after", blob: after)],
                                           message: "midway", author: author)
        }
        try native.advanceHead(from: head, to: second, message: "midway")
        XCTAssertEqual(try gitText(repo, "fsck", "--full", "--strict", "--no-dangling"), "")
        XCTAssertEqual(try gitText(repo, "cat-file", "blob", "HEAD:x/before"), "before")
        XCTAssertEqual(try gitText(repo, "cat-file", "blob", "HEAD:x/after"), "after")

        // A failed batch leaves nothing behind.
        let reopened = try GitRepository.open(at: repo.workTree)
        let count = try gitText(repo, "count-objects")
        XCTAssertThrowsError(try reopened.withBatchedObjectSync {
            _ = try reopened.writeBlob(Array("dropped".utf8))
            throw GitError.corruptObject("test")
        })
        XCTAssertEqual(try gitText(repo, "count-objects"), count)
    }

    func testASignedCommitSplitsAsLibgit2SplitsIt() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 1)
        let native = try GitRepository.open(at: repo.workTree)
        let head = try native.head()
        let armored = "-----BEGIN SSH SIGNATURE-----\nAAAA\n\nBBBB\n-----END SSH SIGNATURE-----\n"
        var signed: [UInt8] = []
        let commit = try native.createCommit(parent: head, changes: [], message: "signed", author: author) { bytes in
            signed = bytes
            return armored
        }
        let split = try XCTUnwrap(native.commitSignature(commit))
        XCTAssertEqual(split.armored, Array(armored.dropLast().utf8))
        XCTAssertEqual(split.signedData, signed)
        let library = try openInLibgit2(repo)
        XCTAssertEqual(try library.commitSignature(commit), split)
        XCTAssertNil(try native.commitSignature(try XCTUnwrap(head)))
        XCTAssertNil(try library.commitSignature(try XCTUnwrap(head)))
        let body = try gitText(repo, "cat-file", "commit", commit.hex)
        XCTAssertTrue(body.contains("\ngpgsig -----BEGIN SSH SIGNATURE-----\n AAAA\n \n BBBB\n -----END SSH SIGNATURE-----\n\nsigned\n"), body)
    }

    func testCorruptObjectsAreRefused() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 1)
        let blob = try XCTUnwrap(ObjectID(hex: try gitText(repo, "rev-parse", "HEAD:big.txt").trimmingCharacters(in: .newlines)))
        let path = repo.gitDirectory + "/objects/" + blob.hex.prefix(2) + "/" + blob.hex.dropFirst(2)
        // Another object's content under this name: its hash gives it away.
        let other = try XCTUnwrap(ObjectID(hex: try gitText(repo, "rev-parse", "HEAD:dir/0.txt").trimmingCharacters(in: .newlines)))
        let otherPath = repo.gitDirectory + "/objects/" + other.hex.prefix(2) + "/" + other.hex.dropFirst(2)
        chmod(path, 0o644)
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(link(otherPath, path), 0)
        let native = try GitRepository.open(at: repo.workTree)
        XCTAssertThrowsError(try native.readBlob(blob)) { error in
            guard case GitError.corruptObject = error else { return XCTFail("\(error)") }
        }
        // A truncated pack entry is an error too, not a read past the end.
        XCTAssertThrowsError(try Delta.apply([5, 3, 0x90, 9], to: [1, 2, 3, 4, 5]))
        XCTAssertThrowsError(try Delta.apply([4, 3, 0x91, 2, 3], to: [1, 2, 3, 4]))
        XCTAssertEqual(try Delta.apply([4, 3, 0x91, 1, 2, 1, 9], to: [1, 2, 3, 4]), [2, 3, 9])
    }

    func testWhatTheNativeSideDoesNotReadIsLeftToLibgit2() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 2)
        let head = try XCTUnwrap(try GitRepository.open(at: repo.workTree).head())
        // Alternates: objects may live elsewhere, so libgit2 opens it.
        let other = try makeRepository("other")
        try FileManager.default.createDirectory(atPath: other.gitDirectory + "/objects/info", withIntermediateDirectories: true)
        try (repo.gitDirectory + "/objects\n").write(toFile: other.gitDirectory + "/objects/info/alternates", atomically: true, encoding: .utf8)
        let borrowed = try GitRepository.open(at: other.workTree)
        XCTAssertNil(borrowed.native)
        XCTAssertEqual(try borrowed.node(head).id, head)
        // An include in the repository's config (which could set its format): libgit2 opens it.
        try "[user]\n\tname = Included\n\temail = inc@example.com\n".write(toFile: dir + "/included", atomically: true, encoding: .utf8)
        _ = try gitBytes(repo, ["config", "include.path", dir + "/included"])
        let including = try GitRepository.open(at: repo.workTree)
        XCTAssertNil(including.native)
        XCTAssertEqual(try including.configuredSignature(), Signature(name: "Included", email: "inc@example.com"))
        _ = try gitBytes(repo, ["config", "--unset", "include.path"])
        // A merge on the way: the walk is libgit2's, with the same answer.
        _ = try gitBytes(repo, ["checkout", "-q", "-b", "side", "HEAD~1"])
        try writeWorkTreeFile(repo, "side.txt", Array("side".utf8))
        _ = try gitBytes(repo, ["add", "-A"])
        _ = try gitBytes(repo, ["commit", "-q", "-m", "side"])
        _ = try gitBytes(repo, ["checkout", "-q", "-"])
        _ = try gitBytes(repo, ["merge", "-q", "--no-edit", "side"])
        let merged = try XCTUnwrap(ObjectID(hex: try gitText(repo, "rev-parse", "HEAD").trimmingCharacters(in: .newlines)))
        let walking = try GitRepository.open(at: repo.workTree)
        XCTAssertNotNil(walking.native)
        let library = try openInLibgit2(repo)
        XCTAssertEqual(try walking.commits(from: merged, hiding: [head]).map(\.id), try library.commits(from: merged, hiding: [head]).map(\.id))
        XCTAssertEqual(try walking.commits(from: merged, hiding: [head]).count, 2)
    }

    func testAncestryAnsweredNativelyAgreesWithLibgit2() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 6)
        let ids = try gitText(repo, "rev-list", "HEAD").split(separator: "\n").compactMap { ObjectID(hex: String($0)) }
        let native = try GitRepository.open(at: repo.workTree)
        let library = try openInLibgit2(repo)
        for a in ids {
            for b in ids {
                XCTAssertEqual(try native.isAncestor(a, of: b), try library.isAncestor(a, of: b), "\(a) \(b)")
            }
            XCTAssertEqual(try native.commits(from: ids[0], hiding: [a]).map(\.id), try library.commits(from: ids[0], hiding: [a]).map(\.id))
            XCTAssertEqual(try native.node(a), try library.node(a))
            XCTAssertEqual(try native.log(from: a), try library.log(from: a))
        }
        XCTAssertNotNil(native.native, "a linear history needs no libgit2")
    }

    func testConfigFilesReadAsGitReadsThem() throws {
        let text = """
        # comment
        [core]
        \tfileMode = false ; trailing comment
        \tbare
        [user]
        \tname = "  Ada  "   Lovelace  # comment
        \temail = ada@example.com
        [remote "Origin"]
        \turl = "a\\"b\\\\c"
        [Section.Sub] key = v
        """
        let config = try GitConfigFile(text: text)
        XCTAssertEqual(try config.bool("core.filemode"), false)
        XCTAssertEqual(try config.bool("CORE.BARE"), true)
        XCTAssertEqual(try config.string("user.name"), "  Ada     Lovelace")
        XCTAssertEqual(try config.string("user.email"), "ada@example.com")
        XCTAssertEqual(try config.string("remote.Origin.url"), "a\"b\\c")
        XCTAssertNil(try config.string("remote.origin.url"))
        XCTAssertEqual(try config.string("section.sub.key"), "v")
        XCTAssertThrowsError(try config.string("core.bare"))
        for unsupported in ["[include]\n\tpath = x\n", "[user]\n\tname = a \\\n b\n", "[user]\n\tname = \"open\n"] {
            XCTAssertThrowsError(try GitConfigFile(text: unsupported), unsupported) { XCTAssertTrue($0 is NativeUnsupported) }
        }
        // What git itself reads from the same file.
        let repo = try makeRepository()
        try text.write(toFile: repo.gitDirectory + "/config", atomically: true, encoding: .utf8)
        func gitConfig(_ name: String) throws -> String { String(decoding: try gitBytes(repo, ["config", name], identity: false), as: UTF8.self) }
        XCTAssertEqual(try gitConfig("user.name"), "  Ada     Lovelace\n")
        XCTAssertEqual(try gitConfig("remote.Origin.url"), "a\"b\\c\n")
        XCTAssertEqual(try gitConfig("section.sub.key"), "v\n")
    }

    func testANameGivenTwiceIsReportedAndItsTreeNeverRewritten() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 1)
        let blob = try gitText(repo, "rev-parse", "HEAD:dir/0.txt").trimmingCharacters(in: .newlines)
        let inner = try TestTools.handMadeTree([("100644", ".recipients", blob)], in: repo.workTree, scratch: dir)
        let single = try TestTools.handMadeTree([("40000", "d", inner)], in: repo.workTree, scratch: dir)
        let twice = try TestTools.handMadeTree([("40000", "d", inner), ("40000", "d", inner)], in: repo.workTree, scratch: dir)
        let native = try GitRepository.open(at: repo.workTree)
        let tree = try Tree(try XCTUnwrap(ObjectID(hex: twice)), in: native)
        XCTAssertFalse(tree.isOrdered)
        XCTAssertTrue(try Tree(try XCTUnwrap(ObjectID(hex: single)), in: native).isOrdered)
        XCTAssertThrowsError(try TreeBuilder(native, from: tree))
        let changes = try native.changedFiles(named: [".recipients"], from: ObjectID(hex: single), to: ObjectID(hex: twice))
        XCTAssertEqual(changes, [FileChange(path: "d", old: nil, new: nil, otherKind: true)])
        XCTAssertNil(try PathWalker(native).changedFiles(named: [".recipients"], from: ObjectID(hex: single), to: ObjectID(hex: twice)),
                     "the walk in order declines it")
        // Untouched entries keep the mode they were written with.
        let odd = try TestTools.handMadeTree([("100664", "a", blob), ("40000", "d", inner)], in: repo.workTree, scratch: dir)
        let builder = try TreeBuilder(native, from: try Tree(try XCTUnwrap(ObjectID(hex: odd)), in: native))
        try builder.insert("b", try XCTUnwrap(ObjectID(hex: blob)), mode: GIT_FILEMODE_BLOB)
        let written = try builder.write()
        let raw = try gitBytes(repo, ["cat-file", "tree", written.hex])
        XCTAssertTrue(raw.starts(with: Array("100664 a\u{0}".utf8)), "written back as it was, not as git lists it")
        XCTAssertEqual(try gitText(repo, "ls-tree", "--name-only", written.hex), "a\nb\nd\n")
    }

    func testSignatureLinesReadAsLibgit2ReadsThem() throws {
        let tree = String(repeating: "a", count: 40)
        func parse(_ author: String) throws -> Commit {
            try Commit(try XCTUnwrap(ObjectID(hex: String(repeating: "b", count: 40))),
                       bytes: Array("tree \(tree)\nauthor \(author)\ncommitter C <c@x> 5 +0000\n\n\nmessage\u{0}hidden".utf8))
        }
        XCTAssertEqual(try parse(" Ada  <ada@x> 1700000000 +0100").author.time, 1_700_000_000)
        XCTAssertEqual(try parse(" Ada  <ada@x> 1700000000 +0100").author.name, "Ada")
        // The time starts two bytes after ">", as libgit2 reads it; a sign is strtol's.
        XCTAssertEqual(try parse("A <a@x>1700000000 +0100").author.time, 700_000_000)
        XCTAssertEqual(try parse("A <a@x> -5 +0100").author.time, -5)
        XCTAssertEqual(try parse("A <x> <a@x> 7").author.email, "a@x", "the last angle brackets")
        XCTAssertEqual(try parse("A <a@x>").author.time, 0, "no time at all")
        for bad in ["A <a@x> soon", "A <a@x> 99999999999999999999", "A a@x> 1", "A >a@x< 1"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
        XCTAssertEqual(try parse("A <a@x> 1 +0000").message, "message", "leading newlines dropped, cut at a NUL")
        XCTAssertEqual(try parse("A <a@x> 1 +0000").committerTime, 5)
    }

    func testSizesComeFromHeadersAlone() throws {
        let repo = try makeRepository()
        try makeHistory(repo, commits: 6)
        let check = { (label: String) in
            let native = try GitRepository.open(at: repo.workTree)
            let walker = try PathWalker(native)
            for line in try self.gitText(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objectsize)").split(separator: "\n") {
                let parts = line.split(separator: " ")
                XCTAssertEqual(try walker.size(of: try XCTUnwrap(ObjectID(hex: String(parts[0])))), Int(parts[1]), "\(label) \(parts[0])")
            }
            XCTAssertNotNil(native.native)
        }
        try check("loose")
        _ = try gitBytes(repo, ["repack", "-adf", "--depth=50", "--window=50", "-q"])
        try check("packed")
    }
}
