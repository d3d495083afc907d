import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// The three-way merge both doors share (Merge/MergeDriver.swift), and git's
/// file contract over it (MergeDriverFiles).
final class MergeDriverTests: XCTestCase {
    private let me = X25519Identity.generate(), alice = X25519Identity.generate(), bob = X25519Identity.generate()
    private let id = try! SecretID("prod/db")
    private var path: String { id.relativePath }

    private func reader(_ identity: X25519Identity, _ name: String) -> NamedRecipient {
        NamedRecipient(recipient: identity.recipient, name: name)
    }
    private func value(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }
    private func seal(_ text: String, for readers: [X25519Identity] = []) throws -> [UInt8] {
        try Sealing.seal(value(text), id: id, for: [reader(me, "me")] + readers.map { reader($0, "r") }, plugins: .standalone)
    }
    /// The same value for more readers: the payload stays.
    private func rewrap(_ file: [UInt8], adding identity: X25519Identity) throws -> [UInt8] {
        let readers = try Sealing.boundReaders(of: file, id: id).fingerprints.count
        let result = try Sealing.reseal(file, id: id, for: [reader(me, "me"), reader(identity, "new")], identities: [me], plugins: .standalone)
        XCTAssertEqual(result.how, .rewrapped, "expected a re-wrap of a file for \(readers) readers")
        return result.bytes
    }
    private func rekey(_ file: [UInt8]) throws -> [UInt8] {
        try Sealing.rekey(file, id: id, for: [reader(me, "me")], identities: [me], plugins: .standalone)
    }
    private func merge(_ base: [UInt8]?, _ ours: [UInt8], _ theirs: [UInt8], identities: [Identity]? = nil) -> MergeDriver.Result {
        MergeDriver.merge(path: path, base: base, ours: ours, theirs: theirs, identities: identities ?? [me])
    }

    // MARK: sealed files

    func testIdenticalSidesAreOurs() throws {
        let file = try seal("v1")
        XCTAssertEqual(merge(nil, file, file, identities: []), .merged(file, .ours))
    }

    /// Both sides only re-wrapped (each for another reader): the payload is
    /// the same, so the value is, and no key is needed to say so.
    func testRewrapsOnBothSidesMergeByPayloadWithoutAKey() throws {
        let base = try seal("v1")
        let ours = try rewrap(base, adding: alice), theirs = try rewrap(base, adding: bob)
        XCTAssertEqual(merge(base, ours, theirs, identities: []), .merged(ours, .ours))
    }

    func testTheirChangeWinsOverOurRewrap() throws {
        let base = try seal("v1")
        let ours = try rewrap(base, adding: alice), theirs = try seal("v2")
        XCTAssertEqual(merge(base, ours, theirs, identities: []), .merged(theirs, .theirs))
    }

    func testOurChangeWinsOverTheirRewrap() throws {
        let base = try seal("v1")
        let ours = try seal("v2"), theirs = try rewrap(base, adding: bob)
        XCTAssertEqual(merge(base, ours, theirs, identities: []), .merged(ours, .ours))
    }

    /// A re-key changes the payload but not the value: compared by value.
    func testAChangeWinsOverARekeyComparedByValue() throws {
        let base = try seal("v1", for: [bob])
        let rekeyed = try rekey(base), changed = try seal("v2", for: [bob])
        XCTAssertEqual(merge(base, changed, rekeyed), .merged(changed, .ours))
        XCTAssertEqual(merge(base, rekeyed, changed), .merged(changed, .theirs))
    }

    func testTheSameNewValueOnBothSidesIsOurs() throws {
        let base = try seal("v1")
        let ours = try seal("v2"), theirs = try seal("v2")
        XCTAssertEqual(merge(base, ours, theirs), .merged(ours, .ours))
    }

    func testDifferentNewValuesConflict() throws {
        let base = try seal("v1")
        XCTAssertEqual(merge(base, try seal("v2"), try seal("v3")), .conflict(.bothChanged))
    }

    func testAddedOnBothSides() throws {
        let ours = try seal("v1"), same = try seal("v1")
        XCTAssertEqual(merge(nil, ours, same), .merged(ours, .ours))
        XCTAssertEqual(merge(nil, ours, try seal("v2")), .conflict(.bothChanged))
    }

    /// Values that must be compared but cannot be opened: never guessed.
    func testUnreadableSidesConflict() throws {
        let base = try seal("v1")
        XCTAssertEqual(merge(base, try seal("v2"), try rekey(base), identities: []), .conflict(.unreadable))
        XCTAssertEqual(merge(base, try seal("v2"), try rekey(base), identities: [alice]), .conflict(.unreadable))
        XCTAssertEqual(merge(nil, try seal("v1"), try seal("v2"), identities: []), .conflict(.unreadable))
    }

    func testNotASealedOrTrustFileIsNotMerged() {
        for other in ["README", "sub/.signers", ".gitattributes"] {
            XCTAssertEqual(MergeDriver.merge(path: other, base: nil, ours: [1], theirs: [2], identities: []), .conflict(.notMerged), other)
        }
    }

    // MARK: trust files as sets of lines

    private func lines(_ base: String?, _ ours: String, _ theirs: String, path: String = "prod/.recipients") -> MergeDriver.Result {
        MergeDriver.merge(path: path, base: base.map { Array($0.utf8) }, ours: Array(ours.utf8), theirs: Array(theirs.utf8), identities: [])
    }
    private func key(_ identity: X25519Identity) -> String { identity.recipient.encoded }

    /// Ours keeps its order and comments; theirs' additions follow; a line
    /// either side removed is gone.
    func testRecipientsMergeAsSetsOfLines() {
        let base = "# prod readers\n\(key(me)) # me\n\(key(bob)) # bob\n"
        let ours = "# prod readers\n\(key(me)) # me\n\(key(bob)) # bob\n# ops\n\(key(alice)) # alice\n"
        let theirs = "# prod readers\n\(key(me)) # me\n"
        let expected = "# prod readers\n\(key(me)) # me\n# ops\n\(key(alice)) # alice\n"
        XCTAssertEqual(lines(base, ours, theirs), .merged(Array(expected.utf8), .lines))
        let reversed = "# prod readers\n\(key(me)) # me\n\(key(alice)) # alice\n"
        XCTAssertEqual(lines(base, theirs, ours), .merged(Array(reversed.utf8), .lines))
    }

    func testRecipientsAddedOnBothSidesAreTheUnion() {
        let ours = "\(key(me)) # me\n\(key(alice)) # alice\n", theirs = "\(key(me)) # me\n\(key(bob)) # bob\n"
        let expected = "\(key(me)) # me\n\(key(alice)) # alice\n\(key(bob)) # bob\n"
        XCTAssertEqual(lines(nil, ours, theirs), .merged(Array(expected.utf8), .lines))
        XCTAssertEqual(lines("", ours, theirs, path: RecipientsFile.fileName), .merged(Array(expected.utf8), .lines))
    }

    /// A line that is no reader (here theirs added it) makes no valid file.
    func testInvalidMergedLinesConflict() {
        let base = "\(key(me)) # me\n"
        XCTAssertEqual(lines(base, "\(key(me)) # me\n", "not a key\n"), .conflict(.invalidLines))
    }

    func testSignersMergeAtTheRootOnly() {
        let keys = ["a", "b", "c"].map { ($0, SSHSigningKey.generate().publicKey.authorizedKey) }
        let line = { (name: String) in "\(name) \(Dictionary(uniqueKeysWithValues: keys)[name]!)\n" }
        let result = lines(line("a"), line("a") + line("b"), line("a") + line("c"), path: SignersFile.fileName)
        guard case .merged(let bytes, .lines) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), line("a") + line("b") + line("c"))
    }

    // MARK: git's file contract

    private func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "coffer-merge-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw XCTSkip("no temporary directory") }
        let dir = String(cString: made)
        addTeardownBlock { _ = try? Self.removeTree(dir) }
        return dir
    }
    private static func removeTree(_ dir: String) throws {
        for name in ["O", "A", "B"] { unlink(dir + "/" + name) }
        rmdir(dir)
    }
    private func files(_ base: [UInt8], _ ours: [UInt8], _ theirs: [UInt8]) throws -> (String, String, String) {
        let dir = try temporaryDirectory()
        for (name, bytes) in [("O", base), ("A", ours), ("B", theirs)] {
            let sink = try AtomicFileSink(path: dir + "/" + name)
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.commit()
        }
        return (dir + "/O", dir + "/A", dir + "/B")
    }

    /// theirs' file lands in ours' place; on a conflict ours' stays as it was.
    func testTheFileContract() throws {
        let base = try seal("v1"), ours = try rewrap(base, adding: alice), theirs = try seal("v2")
        let (o, a, b) = try files(base, ours, theirs)
        XCTAssertEqual(try MergeDriverFiles.merge(base: o, ours: a, theirs: b, path: path, identities: []), .merged(theirs, .theirs))
        XCTAssertEqual(try Files.read(path: a), theirs)

        let mine = try seal("v3")
        let (o2, a2, b2) = try files(base, mine, theirs)
        XCTAssertEqual(try MergeDriverFiles.merge(base: o2, ours: a2, theirs: b2, path: path, identities: [me]), .conflict(.bothChanged))
        XCTAssertEqual(try Files.read(path: a2), mine)
    }

    /// git passes an empty file for the base of a path both sides added.
    func testAnEmptyBaseFileIsNoBase() throws {
        let ours = try seal("v1"), theirs = try seal("v2")
        let (o, a, b) = try files([], ours, theirs)
        // With a base, an unreadable side would be `.unreadable`; with none it is both-added.
        XCTAssertEqual(try MergeDriverFiles.merge(base: o, ours: a, theirs: b, path: path, identities: [me]), .conflict(.bothChanged))
        XCTAssertEqual(try Files.read(path: a), ours)
    }
}
