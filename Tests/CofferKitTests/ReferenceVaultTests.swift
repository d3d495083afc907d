import Foundation
import XCTest
import Age
import CofferKit

/// The vault in `fixtures/`, written by an earlier coffer (see
/// `fixtures/make-reference-vault`), must stay readable: every current value,
/// every version as history numbers it, the readers of each scope. A clone
/// made by the stock git CLI is what a user would have.
final class ReferenceVaultTests: XCTestCase {
    struct Expected: Decodable {
        struct Key: Decodable { let file: String; let recipient: String }
        struct Scope: Decodable { let directory: String; let readers: [String] }
        struct Version: Decodable {
            let number: Int
            let id: String
            let action: String
            let change: String
            let value: String?
            let deleted: Bool?
        }
        let identities: [String: Key]
        let scopes: [Scope]
        let current: [String: String]
        let removed: [String]
        let secrets: [String: [Version]]
    }

    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    private var work: URL!
    private var expected: Expected!
    private var vault: Vault!
    private var identityA: [Identity] = []
    private var identityB: [Identity] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        let json = try Data(contentsOf: Self.fixtures.appendingPathComponent("reference-vault.json"))
        expected = try JSONDecoder().decode(Expected.self, from: json)
        work = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-reference-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
        let bundle = Self.fixtures.appendingPathComponent("reference-vault.bundle").path
        try runPeer("git", ["clone", "--quiet", bundle, work.appendingPathComponent("vault").path], in: work.path)
        vault = try Vault.open(containing: work.appendingPathComponent("vault").path)
        identityA = try identity("a")
        identityB = try identity("b")
    }

    override func tearDownWithError() throws {
        if let work { try? FileManager.default.removeItem(at: work) }
        try super.tearDownWithError()
    }

    func testCurrentValuesAndIds() throws {
        XCTAssertEqual(vault.list().map(\.value), expected.current.keys.sorted())
        for (id, value) in expected.current {
            assertValue(try vault.read(SecretID(id), identities: identityA), value, id)
        }
        for id in expected.removed {
            XCTAssertFalse(vault.contains(try SecretID(id)), "\(id) was removed")
        }
    }

    func testEveryVersionOfEverySecret() throws {
        for (id, versions) in expected.secrets.sorted(by: { $0.key < $1.key }) {
            let secret = try SecretID(id)
            let history = try vault.history(of: secret).reversed().map { $0 }
            XCTAssertEqual(history.map(\.number), versions.map(\.number), "versions of \(id)")
            for (index, (found, want)) in zip(history, versions).enumerated() {
                let where_ = "\(id) v\(want.number)"
                XCTAssertEqual(found.id.value, want.id, where_)
                // Written before coffer signed its commits, and this clone pins
                // no signers: no action recorded counts, each commit shows as
                // `git` (the record kept as its claim), and the change is what
                // the files show alone: a rollback is a new value, a restore
                // after a removal a file created.
                XCTAssertEqual(found.origin.signature.mark, .unsigned, where_)
                XCTAssertEqual(found.action, "git", where_)
                XCTAssertEqual(found.origin.claimedAction, want.action, where_)
                let appeared = index == 0 || versions[index - 1].deleted == true
                let change = want.change == "restored" ? (appeared ? "created" : "value") : want.change
                XCTAssertEqual(found.change.rawValue, change, where_)
                if want.deleted == true {
                    XCTAssertEqual(found.change, .deleted, where_)
                    XCTAssertNil(want.value, where_)
                    XCTAssertThrowsError(try vault.read(secret, at: "v\(want.number)", identities: identityA), where_)
                } else {
                    assertValue(try vault.read(secret, at: "v\(want.number)", identities: identityA), want.value, where_)
                    // The same version through its commit id, as `get --at COMMIT` reads it.
                    assertValue(try vault.read(found.id, at: found.commit, identities: identityA), want.value, where_)
                }
            }
        }
    }

    func testEachScopeHasItsReadersAndOnlyThemRead() throws {
        for scope in expected.scopes {
            let readers = try vault.readers(in: Scope(scope.directory)).readers.map(\.recipient.encoded)
            XCTAssertEqual(readers, scope.readers, "readers of /\(scope.directory)")
        }
        let keyB = try XCTUnwrap(expected.identities["b"]).recipient
        for (id, value) in expected.current {
            let secret = try SecretID(id)
            let readable = try vault.readers(of: secret).readers.map(\.recipient.encoded).contains(keyB)
            if readable {
                assertValue(try vault.read(secret, identities: identityB), value, "\(id) read with key B")
            } else {
                XCTAssertThrowsError(try vault.read(secret, identities: identityB), "key B must not read \(id)")
            }
        }
        XCTAssertTrue(expected.current.keys.contains { $0.hasPrefix("prod/") }, "the fixture has a prod scope")
        XCTAssertTrue(expected.current.keys.contains { !$0.hasPrefix("prod/") }, "the fixture has secrets outside prod")
    }

    /// The stock age CLI opens a current sealed file with the fixture's key.
    func testStockAgeDecryptsACurrentFile() throws {
        let (id, value) = try XCTUnwrap(expected.current.min { $0.key < $1.key })
        let identity = try copyIdentity("a")
        let output = try runPeer("age", ["-d", "-i", identity, work.appendingPathComponent("vault/\(id).age").path], in: work.path).output
        assertValue(SecureBytes(copying: Array(output.utf8)), value, "age -d of \(id)")
    }

    // MARK: helpers

    /// Compares a value with the recorded one; a failure names the id and the
    /// lengths, never the bytes (the habit holds for test values too).
    private func assertValue(_ bytes: SecureBytes, _ want: String?, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let wanted = Array((want ?? "").utf8)
        let same = want != nil && bytes.withUnsafeBytes { Array($0) == wanted }
        XCTAssertTrue(same, "\(what): the value (\(bytes.count) bytes) is not the recorded one (\(wanted.count) bytes)",
                      file: file, line: line)
    }

    /// The fixture's identity file, copied with mode 0600 (git checks files
    /// out 0644, which coffer rightly refuses for a private key).
    private func copyIdentity(_ name: String) throws -> String {
        let key = try XCTUnwrap(expected.identities[name], "identity \(name) in reference-vault.json")
        let copy = work.appendingPathComponent("identity-\(name).txt").path
        if !FileManager.default.fileExists(atPath: copy) {
            let contents = try Data(contentsOf: Self.fixtures.appendingPathComponent(key.file))
            XCTAssertTrue(FileManager.default.createFile(atPath: copy, contents: contents,
                                                         attributes: [.posixPermissions: 0o600]))
        }
        return copy
    }

    private func identity(_ name: String) throws -> [Identity] {
        let identities = try IdentityLoader.load(path: try copyIdentity(name)) {
            throw XCTSkip("the fixture identity \(name) is not passphrase-protected")
        }
        XCTAssertEqual(identities.map(\.recipient.encoded), [expected.identities[name]?.recipient])
        return identities
    }
}
