import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// The identity file (IdentityStore.swift).
final class IdentityStoreTests: VaultTestCase {
    private var store: IdentityStore { IdentityStore(path: directory + "/config/coffer/identity") }
    private let noPassphrase: () throws -> SecureBytes = { XCTFail("asked for a passphrase"); return SecureBytes(count: 0) }

    private func mode(_ path: String) -> UInt32 {
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        return UInt32(info.st_mode & 0o777)
    }

    func testCreateAndLoad() throws {
        XCTAssertFalse(store.exists)
        try store.create(me, name: "ann", passphrase: nil, workFactor: 10)
        XCTAssertTrue(store.exists)
        XCTAssertEqual(mode(store.path), 0o600)
        XCTAssertEqual(mode(directory + "/config/coffer"), 0o700)
        let loaded = try store.loadWithName(passphrase: noPassphrase)
        XCTAssertEqual(loaded.identities.map(\.recipient), [me.recipient])
        XCTAssertEqual(loaded.name, "ann")
        XCTAssertEqual(store.publicKeys(), [me.recipient])
        XCTAssertNoThrow(try store.checkPermissions())
        // The stock age CLI reads the file as an identity file.
        try set(["a": "v"])
        XCTAssertEqual(try run("age", ["-d", "-i", store.path, path("a.age")]).output, "v")
    }

    func testRefusals() throws {
        assertThrows(.identityMissing(path: store.path)) { try store.load(passphrase: noPassphrase) }
        try store.create(me, name: nil, passphrase: nil, workFactor: 10)
        assertThrows(.identityExists(path: store.path)) { try store.create(X25519Identity.generate(), name: nil, passphrase: nil, workFactor: 10) }
        XCTAssertEqual(try store.load(passphrase: noPassphrase).map(\.recipient), [me.recipient])
        XCTAssertEqual(chmod(store.path, 0o640), 0)
        assertThrows(.identityTooOpen(path: store.path, mode: 0o100640)) { try store.load(passphrase: noPassphrase) }
        assertThrows(.identityTooOpen(path: store.path, mode: 0o100640)) { try store.checkPermissions() }
    }

    func testNeverWritesThroughALink() throws {
        try FileManager.default.createDirectory(atPath: directory + "/config/coffer", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(directory + "/elsewhere", store.path), 0)
        XCTAssertThrowsError(try store.create(me, name: nil, passphrase: nil, workFactor: 10))
        XCTAssertFalse(Files.exists(directory + "/elsewhere"))
    }

    func testPassphrase() throws {
        try store.create(me, name: "ann", passphrase: bytes("correct horse"), workFactor: 2)
        XCTAssertNil(store.publicKeys())
        assertThrows(.wrongPassphrase(path: store.path)) { try store.load(passphrase: { self.bytes("wrong") }) }
        let loaded = try store.loadWithName(passphrase: { self.bytes("correct horse") })
        XCTAssertEqual(loaded.identities.map(\.recipient), [me.recipient])
        XCTAssertEqual(loaded.name, "ann")
    }

    func testSnapshotAndRestore() throws {
        try store.create(me, name: nil, passphrase: nil, workFactor: 10)
        let snapshot = try store.snapshot()
        try store.replace(with: [X25519Identity.generate(), me], name: nil, passphrase: nil, workFactor: 10)
        XCTAssertEqual(try store.load(passphrase: noPassphrase).count, 2)
        try store.restore(snapshot)
        XCTAssertEqual(try store.load(passphrase: noPassphrase).map(\.recipient), [me.recipient])
        XCTAssertEqual(mode(store.path), 0o600)
    }
}
