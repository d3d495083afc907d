import Foundation
import XCTest
import Age
import Posix
import Tar
@testable import CofferKit

/// Bundles between a dev vault (`vault`, read by `me`) and a prod vault read
/// by another identity: the round trip, every tampering refused before
/// anything is written, and the conflict rules.
final class BundleTests: VaultTestCase {
    private var prodIdentity = X25519Identity.generate()
    private var prod: Vault!
    private let dev = ["app/db": "dev-db-password", "app/api/token": "tok=en#with\"quotes", "app/empty": "", "other/x": "not exported"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        prodIdentity = X25519Identity.generate()
        prod = try makeVault(at: directory + "/prod", readers: [named(prodIdentity, "prod")])
        try set(["app/db": dev["app/db"]!, "app/api/token": dev["app/api/token"]!, "app/empty": "", "other/x": dev["other/x"]!])
    }

    override func tearDownWithError() throws {
        prod = nil
        try super.tearDownWithError()
    }

    private func export(_ prefix: String = "app", to recipients: [X25519Recipient]? = nil) throws -> [UInt8] {
        try vault.exportBundle(try Prefix(prefix), to: recipients?.map(\.reader) ?? [prodIdentity.recipient.reader], signer: nil, identities: [me]).bytes
    }

    private var unsigned: ImportOptions {
        var options = ImportOptions()
        options.allowUnsigned = true
        return options
    }

    private func prodValue(_ id: String) throws -> String { try value(id, in: prod, identities: [prodIdentity]) }

    /// Refused with `expected` (or, where entries are checked in parallel, any of `orAnyOf`).
    private func assertRefused(_ bundle: [UInt8], _ expected: BundleError, orAnyOf others: [BundleError] = [],
                               options: ImportOptions? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let head = try prod.repoHead()
        XCTAssertThrowsError(try prod.importBundle(try prod.planImport(bundle, options: options ?? unsigned, identities: [prodIdentity]),
                                                   identities: [prodIdentity]), file: file, line: line) { error in
            XCTAssertTrue(([expected] + others).contains { $0 == error as? BundleError }, "\(error)", file: file, line: line)
        }
        XCTAssertEqual(try prod.repoHead(), head, "a refused bundle committed", file: file, line: line)
    }

    func testRoundTripKeepsValuesAndPayloadsAndOnlyTheDestinationReads() throws {
        let bundle = try export()
        let members = try TarReader.members(of: bundle, maxMemberSize: 1 << 20, maxMembers: 100)
        XCTAssertEqual(members.map(\.path), ["manifest", "secrets/app/api/token.age", "secrets/app/db.age", "secrets/app/empty.age"])
        // Each entry keeps the source payload; only the destination reads it.
        for member in members.dropFirst() {
            let id = try SecretID(String(member.path.dropFirst("secrets/".count).dropLast(4)))
            XCTAssertTrue(Sealing.samePayload(member.contents, try read(id.relativePath)), "\(id) was re-encrypted")
            XCTAssertThrowsError(try Sealing.open(member.contents, id: id, identities: [me]), "the source identity opens \(id)")
            XCTAssertEqual(string(try Sealing.open(member.contents, id: id, identities: [prodIdentity])), dev[id.value])
        }
        let plan = try prod.planImport(bundle, options: unsigned, identities: [prodIdentity])
        XCTAssertEqual(plan.added.map(\.value), ["app/api/token", "app/db", "app/empty"])
        let outcome = try prod.importBundle(plan, identities: [prodIdentity])
        XCTAssertNotNil(outcome.commit)
        for id in ["app/db", "app/api/token", "app/empty"] { XCTAssertEqual(try prodValue(id), dev[id]) }
        XCTAssertEqual(try prod.verify(identities: [prodIdentity]).drift, [])
        let message = try git("log", "-1", "--format=%B", in: prod.root)
        XCTAssertTrue(message.contains("Coffer-Action: import"), message)
        XCTAssertTrue(message.contains("Coffer-Bundle: \(try XCTUnwrap(plan.digest))"), message)
        XCTAssertTrue(message.contains("Coffer-Source: "), message)
        XCTAssertEqual(try git("rev-list", "--count", "HEAD", in: prod.root), "2", "one import commit")
    }

    func testTamperingIsRefusedBeforeAnythingIsWritten() throws {
        let bundle = try export()
        var members = try TarReader.members(of: bundle, maxMemberSize: 1 << 20, maxMembers: 100)
        func rebuilt(_ change: (inout [TarReader.Member]) -> Void) throws -> [UInt8] {
            var copy = members
            change(&copy)
            var tar = TarWriter(modificationTime: 0)
            for member in copy { try tar.add(path: member.path, contents: member.contents) }
            return tar.finish()
        }
        let db = members.firstIndex { $0.path == "secrets/app/db.age" }!, token = members.firstIndex { $0.path == "secrets/app/api/token.age" }!
        try assertRefused(try rebuilt { $0.remove(at: db) }, .entryMissing(id: id("app/db")))
        try assertRefused(try rebuilt { $0.append(.init(path: "secrets/app/extra.age", contents: $0[db].contents)) },
                          .entryNotListed(path: "secrets/app/extra.age"))
        try assertRefused(try rebuilt { $0[db] = .init(path: $0[db].path, contents: $0[db].contents.dropLast() + [$0[db].contents.last! ^ 1]) },
                          .entryAltered(id: id("app/db")))
        try assertRefused(try rebuilt { m in
            let a = m[db].contents
            m[db] = .init(path: m[db].path, contents: m[token].contents)
            m[token] = .init(path: m[token].path, contents: a)
        }, .entryAltered(id: id("app/api/token")))
        try assertRefused(try rebuilt { $0.append(.init(path: "../escape.age", contents: [1])) }, .unexpectedMember(path: "../escape.age"))
        try assertRefused(try rebuilt { $0.append(.init(path: "notes.txt", contents: [1])) }, .unexpectedMember(path: "notes.txt"))
        try assertRefused(try rebuilt { $0.append(.init(path: "secrets/../x.age", contents: [1])) }, .unexpectedMember(path: "secrets/../x.age"))
        try assertRefused(try rebuilt { $0.append(.init(path: "/etc/x.age", contents: [1])) }, .unexpectedMember(path: "/etc/x.age"))
        try assertRefused(Array(bundle.prefix(bundle.count - 1500)), .archive(.truncated))
        try assertRefused(try rebuilt { $0[0] = .init(path: "manifest", contents: $0[0].contents + Array(" ".utf8)) }, .manifestMalformed)
        // Sealed for someone else: only its recipient could open it.
        try assertRefused(try export(to: [X25519Identity.generate().recipient]), .notForYou(id: id("app/api/token")),
                          orAnyOf: [.notForYou(id: id("app/db")), .notForYou(id: id("app/empty"))])
        // A manifest re-made to match swapped entries: the bindings still tell.
        let swapped = try rebuilt { m in
            let a = m[db].contents
            m[db] = .init(path: m[db].path, contents: m[token].contents)
            m[token] = .init(path: m[token].path, contents: a)
            var manifest = try! Manifest(parsing: m[0].contents)
            manifest.entries = manifest.entries.map { entry in
                let file = m.first { $0.path == entry.path }!.contents
                return Manifest.Entry(id: entry.id, size: file.count, sha256: Text.hex(Digest.sha256(file)))
            }
            m[0] = .init(path: "manifest", contents: Array(manifest.text.utf8))
        }
        try assertRefused(swapped, .entryBoundElsewhere(id: id("app/api/token"), boundTo: "app/db"),
                          orAnyOf: [.entryBoundElsewhere(id: id("app/db"), boundTo: "app/api/token")])
        members = []
    }

    func testUnsignedIsRefusedUnlessAllowed() throws {
        try assertRefused(try export(), .unsigned, options: ImportOptions())
    }

    func testConflictsMergeReplacePrefixAndDryRun() throws {
        try set(["app/db": "prod-db", "app/empty": ""], in: prod, identities: [prodIdentity])
        let bundle = try export()
        let head = try prod.repoHead()
        let dry = try prod.planImport(bundle, options: unsigned, identities: [prodIdentity])
        XCTAssertEqual(dry.added, [id("app/api/token")])
        XCTAssertEqual(dry.unchanged, [id("app/empty")])
        XCTAssertEqual(dry.conflicts, [id("app/db")])
        XCTAssertEqual(try prod.repoHead(), head, "planning wrote something")
        // Neither --merge nor --replace: refused, naming the conflicts.
        try assertRefused(bundle, .conflicts([id("app/db")]))

        var merge = unsigned
        merge.conflicts = .keep
        _ = try prod.importBundle(try prod.planImport(bundle, options: merge, identities: [prodIdentity]), identities: [prodIdentity])
        XCTAssertEqual(try prodValue("app/db"), "prod-db")
        XCTAssertEqual(try prodValue("app/api/token"), dev["app/api/token"])

        var replace = unsigned
        replace.conflicts = .replace
        replace.allowOlder = true
        let replaced = try prod.planImport(bundle, options: replace, identities: [prodIdentity])
        XCTAssertEqual(replaced.changed, [id("app/db")])
        XCTAssertEqual(replaced.unchanged.map(\.value), ["app/api/token", "app/empty"])
        _ = try prod.importBundle(replaced, identities: [prodIdentity])
        XCTAssertEqual(try prodValue("app/db"), dev["app/db"])

        var moved = unsigned
        moved.prefix = try Prefix("prod/app")
        let remapped = try prod.planImport(bundle, options: moved, identities: [prodIdentity])
        XCTAssertEqual(remapped.added.map(\.value), ["prod/app/api/token", "prod/app/db", "prod/app/empty"])
        _ = try prod.importBundle(remapped, identities: [prodIdentity])
        XCTAssertEqual(try prodValue("prod/app/db"), dev["app/db"])
        XCTAssertEqual(try prod.verify(identities: [prodIdentity]).drift, [])
    }

    /// The replay record covers overlapping prefixes: an older bundle of a
    /// part of what was imported cannot roll values back.
    func testAnOlderBundleOfAnOverlappingPrefixIsAReplay() throws {
        let old = try vault.exportBundle(try Prefix("app/db"), to: [prodIdentity.recipient.reader], signer: nil, identities: [me]).bytes
        try set(["app/db": "newer"])
        func created(_ bundle: [UInt8]) throws -> String {
            try Manifest(parsing: try TarReader.members(of: bundle, maxMemberSize: 1 << 20, maxMembers: 10)[0].contents).created
        }
        var records = ImportRecords()
        records.record(.init(signer: "dev", prefix: try Prefix("app"), created: try created(try export())))
        for prefix in ["app/db", "app", "/"] {
            let entry = ImportRecords.Entry(signer: "dev", prefix: prefix == "/" ? .all : try Prefix(prefix), created: try created(old))
            XCTAssertThrowsError(try records.refuseReplay(of: entry), prefix)
        }
        // Another signer, or a prefix apart from it, is not affected.
        XCTAssertNoThrow(try records.refuseReplay(of: .init(signer: "ops", prefix: try Prefix("app"), created: try created(old))))
        XCTAssertNoThrow(try records.refuseReplay(of: .init(signer: "dev", prefix: try Prefix("other"), created: try created(old))))
        XCTAssertNoThrow(try records.refuseReplay(of: .init(signer: "dev", prefix: try Prefix("application"), created: try created(old))))
    }

    func testABundleFromTheFutureIsRefused() throws {
        let bundle = try export()
        var members = try TarReader.members(of: bundle, maxMemberSize: 1 << 20, maxMembers: 10)
        var manifest = try Manifest(parsing: members[0].contents)
        manifest.created = "2099-01-01T00:00:00.000Z"
        members[0] = TarReader.Member(path: "manifest", contents: Array(manifest.text.utf8))
        var tar = TarWriter(modificationTime: 0)
        for member in members { try tar.add(path: member.path, contents: member.contents) }
        try assertRefused(tar.finish(), .fromTheFuture(created: "2099-01-01T00:00:00.000Z"))
    }

    func testTheManifestIsCanonical() throws {
        let manifest = try Manifest(parsing: try TarReader.members(of: try export(), maxMemberSize: 1 << 20, maxMembers: 10)[0].contents)
        XCTAssertEqual(manifest.prefix, try Prefix("app"))
        XCTAssertEqual(manifest.recipients, [NamedRecipient(recipient: prodIdentity.recipient, name: nil).fingerprint])
        XCTAssertEqual(try Manifest(parsing: Array(manifest.text.utf8)), manifest)
        for edit in [manifest.text.replacingOccurrences(of: "  secrets", with: " secrets"),
                     manifest.text + "\n", manifest.text.replacingOccurrences(of: "prefix: app", with: "prefix: app/")] {
            XCTAssertThrowsError(try Manifest(parsing: Array(edit.utf8)), edit)
        }
    }
}

extension Vault {
    func repoHead() throws -> String? { try repo().head()?.hex }
}
