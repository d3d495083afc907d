import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// The states a SIGKILL leaves at each step of a write, built by hand: a
// finished `coffer` write, rewound to where the kill would have stopped it.
// The journal is written in the format of Sources/CofferKit/Transaction/Journal.swift.

/// The pieces of a vault a write rewrites.
struct Snapshot {
    let head: String
    let index: Data
    let files: [String: Data]
}

extension AtomicityTestCase {
    func snapshot() throws -> Snapshot {
        Snapshot(head: try revParse("HEAD"),
                 index: try Data(contentsOf: URL(fileURLWithPath: vault + "/.git/index")),
                 files: workTreeFiles())
    }

    /// `old new status path` for each path `new` changes.
    func changedPaths(from old: String, to new: String) throws -> [(blob: String, status: String, path: String)] {
        try mustGit(["diff-tree", "-r", "--no-commit-id", "--no-renames", old, new])
            .split(separator: "\n").map { line in
                let parts = line.split(separator: "\t", maxSplits: 1)
                let fields = parts[0].split(separator: " ")
                return (String(fields[3]), String(fields[4]), String(parts[1]))
            }
    }

    /// The journal the transaction writes before it moves HEAD from `old` to
    /// `new`; with `indexLockToken`, naming the index lock it takes (journals
    /// from before tokens lack the line).
    func writeJournal(old: String, new: String, indexLockToken: String? = nil) throws {
        var text = "old \(old)\nnew \(new)\n"
        if let indexLockToken { text += "index-lock \(indexLockToken)\n" }
        for change in try changedPaths(from: old, to: new) {
            text += change.status == "D" ? "delete - \(change.path)\n" : "write \(change.blob) \(change.path)\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: vault + "/.git/coffer-journal"))
    }

    /// Puts the work tree files `old` → `new` changed back as `before` had them.
    func rewindWorkTree(to before: Snapshot, old: String, new: String) throws {
        for change in try changedPaths(from: old, to: new) {
            let full = vault + "/" + change.path
            if let bytes = before.files[change.path] {
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try bytes.write(to: URL(fileURLWithPath: full))
            } else {
                unlink(full)
                var parent = (full as NSString).deletingLastPathComponent
                while parent.count > vault.count && rmdir(parent) == 0 { parent = (parent as NSString).deletingLastPathComponent }
            }
        }
    }

    func restoreIndex(_ before: Snapshot) throws {
        try before.index.write(to: URL(fileURLWithPath: vault + "/.git/index"))
    }

    /// After the repairing command: HEAD, index and work tree agree on `expected`, nothing is left over.
    func assertRepaired(_ expected: [String: String], _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(leftovers(), [], "\(label): left behind", file: file, line: line)
        let status = try mustGit(["status", "--porcelain", "--untracked-files=all"])
        XCTAssertEqual(status, "", "\(label): git status", file: file, line: line)
        let head = try tree("HEAD").filter { $0.key.hasSuffix(".age") }
        XCTAssertEqual(Set(head.keys), Set(expected.keys.map { $0 + ".age" }), "\(label): ids in HEAD", file: file, line: line)
        let files = workTreeFiles()
        for (path, bytes) in head {
            XCTAssertEqual(files[path], bytes, "\(label): \(path) in the work tree is not HEAD's", file: file, line: line)
            let id = Self.secretID(ofPath: path)!
            XCTAssertEqual(try? unseal(bytes, as: id).get(), expected[id], "\(label): HEAD's \(id)", file: file, line: line)
        }
        XCTAssertEqual(try listedValues(), expected, "\(label): coffer list --show-values", file: file, line: line)
        let fsck = try runGit(["fsck", "--full", "--no-progress"])
        XCTAssertTrue(fsck.succeeded, "\(label): \(fsck.summary)", file: file, line: line)
    }
}
