import XCTest
import Age
@testable import CofferKit

/// `planPlaintextImport` and `plaintextValues`, in process: the same sorting
/// as a bundle import, keys mapped under the prefix, ids relative to it.
final class PlaintextImportTests: VaultTestCase {
    private func entries(_ pairs: KeyValuePairs<String, String>) -> [PlaintextEntry] {
        pairs.map { (key: $0.key, value: bytes($0.value)) }
    }

    private func plan(_ pairs: KeyValuePairs<String, String>, prefix: String? = "app",
                      conflicts: ImportOptions.Conflicts) throws -> ImportPlan {
        var options = ImportOptions()
        options.conflicts = conflicts
        options.prefix = try prefix.map { try Prefix($0) }
        return try vault.planPlaintextImport(entries(pairs), format: .dotenv, options: options, identities: [me])
    }

    func testSortedLikeABundleAndCommittedOnce() throws {
        try set(["app/SAME": "1", "app/OTHER": "2"])
        let before = try commitCount()
        let incoming: KeyValuePairs<String, String> = ["SAME": "1", "OTHER": "two", "NEW": "3"]

        let refused = try plan(incoming, conflicts: .refuse)
        XCTAssertEqual(refused.added, [id("app/NEW")])
        XCTAssertEqual(refused.unchanged, [id("app/SAME")])
        XCTAssertEqual(refused.conflicts, [id("app/OTHER")])
        XCTAssertEqual(refused.changed, [])
        XCTAssertNil(refused.digest)
        XCTAssertNil(refused.signer)
        XCTAssertThrowsError(try vault.importBundle(refused, identities: [me])) { error in
            XCTAssertEqual(error as? BundleError, .conflicts([id("app/OTHER")]))
        }
        XCTAssertEqual(try commitCount(), before)

        let kept = try plan(incoming, conflicts: .keep)
        XCTAssertEqual(kept.conflicts, [id("app/OTHER")])
        XCTAssertNotNil(try vault.importBundle(kept, identities: [me]).commit)
        XCTAssertEqual(try value("app/OTHER"), "2")
        XCTAssertEqual(try value("app/NEW"), "3")
        XCTAssertEqual(try commitCount(), before + 1)
        let message = try git("log", "-1", "--format=%B")
        XCTAssertTrue(message.contains("Coffer-Action: import"), message)
        XCTAssertTrue(message.contains("Coffer-Source: plaintext dotenv"), message)
        XCTAssertFalse(message.contains("Coffer-Id: app/SAME"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path(ImportRecords.fileName)), "a plaintext import keeps no replay record")

        let replaced = try plan(incoming, conflicts: .replace)
        XCTAssertEqual(replaced.changed, [id("app/OTHER")])
        XCTAssertEqual(replaced.unchanged, [id("app/SAME"), id("app/NEW")])
        XCTAssertEqual(replaced.conflicts, [])
        _ = try vault.importBundle(replaced, identities: [me])
        XCTAssertEqual(try value("app/OTHER"), "two")
        XCTAssertEqual(try commitCount(), before + 2)

        // Nothing new: no commit at all.
        XCTAssertNil(try vault.importBundle(try plan(incoming, conflicts: .refuse), identities: [me]).commit)
    }

    func testKeysBecomeIDsUnderThePrefix() throws {
        XCTAssertEqual(try plan(["db/password": "x"], prefix: nil, conflicts: .refuse).added, [id("db/password")])
        XCTAssertEqual(try plan(["db/password": "x"], prefix: "/", conflicts: .refuse).added, [id("db/password")])
        XCTAssertEqual(try plan(["DB_URL": "x"], prefix: "prod/app/", conflicts: .refuse).added, [id("prod/app/DB_URL")])
        for key in ["a b", ".hidden", "../up", "/abs", "a//b", ""] {
            XCTAssertThrowsError(try plan([key: "CANARY-key"], conflicts: .refuse), key) { error in
                guard case PlaintextError.invalidKey(let named, _) = error else { return XCTFail("\(key): \(error)") }
                XCTAssertEqual(named, key)
                XCTAssertFalse("\(error)".contains("CANARY"))
            }
        }
    }

    func testValuesAreKeyedRelativeToThePrefix() throws {
        try set(["app": "itself", "app/A": "a", "app/sub/B": "b", "apple/X": "x"])
        let under = try vault.plaintextValues(under: try Prefix("app"), identities: [me])
        XCTAssertEqual(under.map(\.key), ["app", "A", "sub/B"])
        XCTAssertEqual(under.map { string($0.value) }, ["itself", "a", "b"])
        XCTAssertEqual(try vault.plaintextValues(under: .all, identities: [me]).map(\.key), ["app", "app/A", "app/sub/B", "apple/X"])
        XCTAssertEqual(try vault.plaintextValues(under: try Prefix("app/sub/B"), identities: [me]).map(\.key), ["B"])
        XCTAssertThrowsError(try vault.plaintextValues(under: try Prefix("none"), identities: [me])) { error in
            XCTAssertEqual(error as? BundleError, .nothingToExport(try! Prefix("none")))
        }

        try set(["app/sub/B/B": "bb"])
        XCTAssertThrowsError(try vault.plaintextValues(under: try Prefix("app/sub/B"), identities: [me])) { error in
            XCTAssertEqual(error as? PlaintextError, .sameKey("B", ids: ["app/sub/B", "app/sub/B/B"]))
        }
    }

    func testASecretYouCannotOpenIsNamed() throws {
        let other = X25519Identity.generate()
        try commitRecipients("theirs", [named(other, "other")])
        try set(["theirs/key": "CANARY-theirs", "mine/key": "v"])
        XCTAssertThrowsError(try vault.plaintextValues(under: .all, identities: [me])) { error in
            XCTAssertEqual(error as? BundleError, .unreadable([id("theirs/key")]))
        }
    }
}
