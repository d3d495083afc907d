import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A vault end-to-end test that mounts file systems (root only). Whatever
/// it mounted is unmounted in tearDown, even when the test failed. Where
/// mounting is impossible the test is skipped, except under CI=true, where
/// that is a failure.
class MountingTestCase: VaultE2ECase {
    private var mounted: [String] = []

    /// `mount ARGS… TARGET`; the first mount of a target is undone in tearDown.
    func mount(_ arguments: [String], _ target: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tool = try requireTool("mount", file: file, line: line)
        let result = try run(tool, arguments + [target], file: file, line: line)
        guard result.status == 0 else {
            let message = "cannot mount (\(["mount"] + arguments + [target]) as uid \(getuid()): "
                + "\(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))); these tests need root"
            if Tools.isCI {
                XCTFail("CI=true and " + message, file: file, line: line)
                throw TestSetupError(message)
            }
            throw XCTSkip(message)
        }
        if !mounted.contains(target) { mounted.append(target) }
    }

    override func tearDownWithError() throws {
        for target in mounted.reversed() {
            if let result = try? run("umount", [target]), result.status != 0 {
                _ = try? run("umount", ["-l", target])
            }
        }
        mounted = []
        try super.tearDownWithError()
    }
}

/// A full disk and a read-only vault: the message names the cause and what
/// to do (never libgit2's wording, which can be a stale message from an
/// earlier call), the command fails, and nothing is lost — HEAD and the
/// work tree agree afterwards and `verify` is clean once space is back.
final class StorageFailureTests: MountingTestCase {
    private var fileSystem: String { path("fs") }
    private var filler: String { path("fs/filler") }
    private var onTmpfs = false
    override var vaultDir: String { onTmpfs ? path("fs/vault") : path("vault") }

    /// A 4 MiB tmpfs holding the vault, with `dev/kept` already set.
    private func vaultOnSmallTmpfs() throws -> [String: Data] {
        onTmpfs = true
        try FileManager.default.createDirectory(atPath: fileSystem, withIntermediateDirectories: false)
        try mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs"], fileSystem)
        _ = try initVault()
        let kept = Data(canary("kept").utf8)
        try cofOK(["set", "dev/kept", "--stdin"], stdin: kept)
        return ["dev/kept": kept]
    }

    /// Fills the file system until `free` bytes are left for the vault.
    private func fill(leaving free: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        unlink(filler)
        var info = statvfs()
        XCTAssertEqual(statvfs(fileSystem, &info), 0, file: file, line: line)
        let available = Int(info.f_bavail) * Int(info.f_frsize)
        guard available > free else { return }
        let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0, file: file, line: line)
        defer { close(fd) }
        XCTAssertEqual(posix_fallocate(fd, 0, off_t(available - free)), 0, "fallocate", file: file, line: line)
    }

    private func firstLine(_ result: CommandResult) -> String {
        result.stderrText.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// The vault lists exactly the ids of `expected`, the values of
    /// `reading` are as expected, HEAD and the work tree agree, and `verify`
    /// finds no drift (it decrypts every value).
    private func assertIntact(_ expected: [String: Data], reading: [String], _ what: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        for id in reading {
            XCTAssertEqual(try reveal(id, file: file, line: line), expected[id], "\(id) after \(what)", file: file, line: line)
        }
        let listed = try cofOK(["list"], file: file, line: line).stdoutText.split(separator: "\n").dropFirst().map(String.init)
        XCTAssertEqual(Set(listed), Set(expected.keys), "ids after \(what)", file: file, line: line)
        let verify = try cof(["verify"], file: file, line: line)
        XCTAssertEqual(verify.status, 0, "verify after \(what): \(verify.stdoutText) \(verify.stderrText)", file: file, line: line)
        XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"), "journal left after \(what)", file: file, line: line)
        XCTAssertEqual(try git(["fsck", "--no-dangling"], file: file, line: line).status, 0, "git fsck after \(what)", file: file, line: line)
    }

    /// Out of space before the commit point: a refusal naming the cause
    /// and what to do, HEAD where it was. After it: committed (exit 0), and
    /// the work-tree hint names the cause. Either way nothing is lost.
    private func assertOutOfSpace(_ result: CommandResult, headBefore: String, what: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws -> (refused: Bool, pending: Bool) {
        let moved = try head(file: file, line: line) != headBefore
        XCTAssertFalse(result.stderrText.contains("git_") || result.stderrText.contains("pack entry"),
                       "libgit2's wording reached the user: \(result.stderrText)", file: file, line: line)
        if result.status != 0 {
            XCTAssertEqual(result.status, 1, file: file, line: line)
            XCTAssertEqual(firstLine(result), "coffer: error: no space left on device for the vault at \(vaultDir)",
                           "\(what): \(result.stderrText)", file: file, line: line)
            XCTAssertTrue(result.stderrText.contains("coffer: hint: free some space there (`df -h \(vaultDir)`"),
                          result.stderrText, file: file, line: line)
            XCTAssertFalse(moved, "\(what): a failed write moved HEAD", file: file, line: line)
            return (true, false)
        }
        XCTAssertTrue(moved, "\(what) succeeded without a commit", file: file, line: line)
        let pending = result.stderrText.contains("updating the work tree failed")
        if pending {
            XCTAssertTrue(result.stderrText.contains("(no space left on device for the vault at \(vaultDir)); free some space there"),
                          result.stderrText, file: file, line: line)
        }
        return (false, pending)
    }

    func testAFullDiskNamesTheCauseAtEveryPointAndLosesNothing() throws {
        var values = try vaultOnSmallTmpfs()
        var refused = 0, pending = 0
        // From no room at all up to enough: the sealed object, the journal,
        // the branch and the work-tree file each in turn meet a full disk.
        for free in stride(from: 0, through: 256 << 10, by: 4 << 10) {
            let id = "app/v\(free >> 10)k"
            let value = randomBytes(16 << 10)
            let input = try write("value-\(free)", value)
            let before = try head()
            try fill(leaving: free)
            let result = try cof(["set", id, "--file", input], clean: false)
            let outcome = try assertOutOfSpace(result, headBefore: before, what: "set with \(free >> 10) KiB free")
            // Short of the commit point a write leaves no journal (nor index lock) behind.
            if outcome.refused {
                XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"), "a refused write left its journal (\(free >> 10) KiB free)")
                XCTAssertFalse(fileExists(vaultDir + "/.git/index.lock"), "a refused write left the index lock (\(free >> 10) KiB free)")
            }
            refused += outcome.refused ? 1 : 0
            pending += outcome.pending ? 1 : 0
            unlink(filler)
            if !outcome.refused { values[id] = value }
            try assertIntact(values, reading: ["dev/kept"] + (outcome.refused ? [] : [id]), "set with \(free >> 10) KiB free")
            if !outcome.refused && !outcome.pending { break }
        }
        XCTAssertGreaterThan(refused, 0, "no write was refused: the disk never filled up before the commit")
        XCTAssertGreaterThan(pending, 0, "no write filled the disk after its commit (the work tree)")
        XCTAssertGreaterThan(values.count, 1, "no write ever succeeded")
    }

    func testAFullDiskWhileWritingAPackNamesTheCause() throws {
        var values = try vaultOnSmallTmpfs()
        var refused = 0
        // More than 64 objects at once are written as one pack.
        for free in stride(from: 0, through: 2 << 20, by: 64 << 10) {
            let batch = (0..<70).map { ("batch\(free >> 10)/k\($0)", Data(canary("b\($0)").utf8)) }
            let before = try head()
            try fill(leaving: free)
            let result = try cof(["set"] + batch.map { "\($0.0)=\(String(decoding: $0.1, as: UTF8.self))" }, clean: false)
            let outcome = try assertOutOfSpace(result, headBefore: before, what: "a 70-value set with \(free >> 10) KiB free")
            refused += outcome.refused ? 1 : 0
            unlink(filler)
            if !outcome.refused { for (id, value) in batch { values[id] = value } }
            try assertIntact(values, reading: ["dev/kept"] + (outcome.refused ? [] : [batch[0].0, batch[69].0]),
                             "a 70-value set with \(free >> 10) KiB free")
            if !outcome.refused && !outcome.pending { break }
        }
        XCTAssertGreaterThan(refused, 0, "no pack write met a full disk")
        XCTAssertGreaterThan(values.count, 1, "no pack write ever succeeded")
    }

    func testAReadOnlyVaultNamesTheCauseAndStillReads() throws {
        _ = try initVault()
        let value = Data(canary("ro").utf8)
        try cofOK(["set", "dev/a", "--stdin"], stdin: value)
        let before = try head(), files = snapshot()
        try mount(["--bind", vaultDir], vaultDir)
        try mount(["-o", "remount,bind,ro"], vaultDir)

        for arguments in [["set", "dev/b=1"], ["set", "dev/a=2"], ["rm", "dev/a"], ["mv", "dev/a", "dev/c"]] {
            let refused = try cof(arguments, clean: false)
            XCTAssertEqual(refused.status, 1, "\(arguments): \(refused.stderrText)")
            XCTAssertEqual(firstLine(refused), "coffer: error: the vault is on a read-only file system (\(vaultDir)); coffer cannot write to it")
            XCTAssertTrue(refused.stderrText.contains("coffer: hint: remount it read-write"), refused.stderrText)
        }
        XCTAssertEqual(try reveal("dev/a"), value, "reads work on a read-only vault")
        XCTAssertEqual(try cofOK(["list"]).stdoutText, "ID\ndev/a\n")
        XCTAssertEqual(try cof(["verify"]).status, 0)
        XCTAssertEqual(try head(), before)
        assertSameSnapshot(files, snapshot(), "refused writes on a read-only vault")

        _ = try run("umount", [vaultDir])
        try cofOK(["set", "dev/b=1"])
        XCTAssertEqual(try reveal("dev/a"), value)
        XCTAssertEqual(try cof(["verify"]).status, 0)
    }

    func testAnInterruptedWriteOnAReadOnlyVaultWaitsForItToBeWritable() throws {
        _ = try initVault()
        try cofOK(["set", "dev/a=1"])
        let old = try sealed("dev/a")
        let value = Data(canary("new").utf8)
        try cofOK(["set", "dev/a", "--stdin"], stdin: value)
        // A kill after the commit point: HEAD new, journal left, old file in the work tree.
        let blob = try gitOK(["rev-parse", "HEAD:dev/a.age"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let journal = "old \(try gitOK(["rev-parse", "HEAD^"]).stdoutText)new \(try head())\nwrite \(blob) dev/a.age\n"
        try Data(journal.utf8).write(to: URL(fileURLWithPath: vaultDir + "/.git/coffer-journal"))
        try old.write(to: URL(fileURLWithPath: sealedPath("dev/a")))
        try mount(["--bind", vaultDir], vaultDir)
        try mount(["-o", "remount,bind,ro"], vaultDir)

        let get = try cof(["get", "dev/a", "--reveal"], clean: false)
        XCTAssertEqual(get.status, 1, get.stderrText)
        XCTAssertEqual(firstLine(get), "coffer: error: the vault is on a read-only file system (\(vaultDir)); coffer cannot write to it")
        XCTAssertNotEqual(get.stdout, Data("1".utf8), "never the value the commit replaced")

        _ = try run("umount", [vaultDir])
        XCTAssertEqual(try reveal("dev/a"), value, "the committed value, once the write could be finished")
        XCTAssertEqual(try cof(["verify"]).status, 0)
    }

    /// Objects git cannot write for this user (EACCES through libgit2):
    /// the cause named, HEAD unchanged.
    func testAVaultTheUserCannotWriteNamesTheCause() throws {
        let nobody = "65534"
        guard geteuid() == 0, let setpriv = Tools.which("setpriv") else {
            let message = "running coffer as another uid needs root and setpriv (util-linux)"
            if Tools.isCI { XCTFail("CI=true and " + message); throw TestSetupError(message) }
            throw XCTSkip(message)
        }
        _ = try initVault()
        try cofOK(["set", "dev/a=1"])
        let before = try head()
        // The vault, the identity and a copy of coffer become nobody's, except the object store.
        let binary = path("coffer")
        try FileManager.default.copyItem(atPath: coffer, toPath: binary)
        chmod(dir.path, 0o755)
        XCTAssertEqual(try run("chown", ["-R", "\(nobody):\(nobody)", dir.path]).status, 0)
        XCTAssertEqual(chown(vaultDir + "/.git/objects", 0, 0), 0)
        XCTAssertEqual(chmod(vaultDir + "/.git/objects", 0o755), 0)

        let refused = try run(setpriv, ["--reuid", nobody, "--regid", nobody, "--clear-groups", binary, "set", "dev/b=2"],
                              environment: vaultEnvironment())
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertEqual(firstLine(refused), "coffer: error: permission denied writing to the vault at \(vaultDir)")
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: check who owns \(vaultDir)"), refused.stderrText)
        let after = try gitOK(["-c", "safe.directory=*", "rev-parse", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(after, before)
    }
}
