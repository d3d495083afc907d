import Foundation
import XCTest
import Age
import Posix
import SSHSig
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

    // MARK: the signing key

    func testTheSigningKeyIsMadeWithTheIdentityAndSealedToIt() throws {
        try store.create(me, name: "ann", passphrase: nil, workFactor: 10)
        XCTAssertEqual(mode(store.signingKeyPath), 0o600)
        let key = try store.signingKey(identities: [me])
        XCTAssertEqual(try store.signingPublicKey(), key.publicKey)
        XCTAssertEqual(try store.signingKey(identities: [me]).publicKey, key.publicKey, "the same key each time")
        let sidecar = try String(contentsOfFile: store.publicKeyPath, encoding: .utf8)
        XCTAssertTrue(sidecar.hasSuffix("\n\(me.recipient.encoded)\n\(key.publicKey.authorizedKey) coffer:ann\n"), sidecar)
        XCTAssertEqual(try store.sidecarPublicKeys(), [me.recipient])
        XCTAssertEqual(store.recordedName(), "ann")
        // An age file for the identity's key: no other key opens it, and its bytes never hold the key in clear.
        let sealed = try Files.read(path: store.signingKeyPath)
        XCTAssertTrue(sealed.starts(with: Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)))
        XCTAssertThrowsError(try store.signingKey(identities: [X25519Identity.generate()])) // the sidecar names other keys
        let plaintext = try Age.decrypt(sealed, identities: [me]).plaintext
        XCTAssertEqual(try SSHSigningKey(openSSHPrivateKey: plaintext).publicKey, key.publicKey)
        XCTAssertThrowsError(try Age.decrypt(sealed, identities: [X25519Identity.generate()]))
        // passwd keeps the key and its sidecar line.
        try store.replace(with: [me], name: "ann", passphrase: bytes("pw"), workFactor: 2)
        XCTAssertEqual(try store.signingPublicKey(), key.publicKey)
        let unlocked = try store.load(passphrase: { self.bytes("pw") })
        XCTAssertEqual(try store.signingKey(identities: unlocked).publicKey, key.publicKey)
    }

    func testExistingIdentitiesGetOneOnFirstNeed() throws {
        try store.create(me, name: "ann", passphrase: nil, workFactor: 10)
        // As an identity made before signing keys existed: no file, a sidecar without the line.
        XCTAssertEqual(unlink(store.signingKeyPath), 0)
        try store.writeSidecar([me.recipient])
        XCTAssertNil(try store.signingPublicKey())
        let made = try store.signingKey(identities: [me])
        XCTAssertEqual(mode(store.signingKeyPath), 0o600)
        XCTAssertEqual(try store.signingPublicKey(), made.publicKey)
        XCTAssertEqual(try store.signingKey(identities: [me]).publicKey, made.publicKey)
        // Without any sidecar too.
        XCTAssertEqual(unlink(store.publicKeyPath), 0)
        XCTAssertEqual(try store.signingKey(identities: [me]).publicKey, made.publicKey)
        XCTAssertEqual(try store.signingPublicKey(), made.publicKey)
    }

    func testASwappedOrLooseSigningKeyIsRefused() throws {
        try store.create(me, name: "ann", passphrase: bytes("pw"), workFactor: 2)
        let mine = try store.signingKey(identities: [me])
        // A sidecar naming someone else's signing key is refused when the identity is unlocked.
        try store.writeSidecar([me.recipient], signing: SSHSigningKey.generate().publicKey, name: "ann")
        assertThrows(.identitySidecarMismatch(sidecar: store.publicKeyPath, identity: store.path)) { try store.load(passphrase: { self.bytes("pw") }) }
        assertThrows(.identitySidecarMismatch(sidecar: store.publicKeyPath, identity: store.path)) { try store.signingKey(identities: [me]) }
        try store.writeSidecar([me.recipient], signing: mine.publicKey, name: "ann")
        XCTAssertEqual(try store.load(passphrase: { self.bytes("pw") }).map(\.recipient), [me.recipient])
        // A signing key file others can read is refused, as the identity would be.
        XCTAssertEqual(chmod(store.signingKeyPath, 0o644), 0)
        assertThrows(.identityTooOpen(path: store.signingKeyPath, mode: 0o100644)) { try store.signingKey(identities: [me]) }
        XCTAssertEqual(chmod(store.signingKeyPath, 0o600), 0)
        // One sealed to another identity cannot be opened.
        let stranger = IdentityStore(path: directory + "/other/identity")
        try stranger.create(X25519Identity.generate(), name: nil, passphrase: nil, workFactor: 10)
        XCTAssertEqual(rename(stranger.signingKeyPath, store.signingKeyPath), 0)
        assertThrows(.invalidSigningKey(path: store.signingKeyPath, reason: "none of the identity's keys opens it")) {
            try store.signingKey(identities: [me])
        }
    }
}
