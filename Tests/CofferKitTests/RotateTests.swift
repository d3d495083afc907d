import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// rotate and identity rotate (Operations/Rotate.swift).
final class RotateTests: VaultTestCase {
    func testRotateRekeysOnlyScopesYouRead() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(other, "other")])
        try set(["a": "1", "b": "2", "ops/c": "3"])
        let before = try read("a.age")
        let opsBefore = try read("ops/c.age")
        let rotation = try vault.rotate(identities: [me])
        XCTAssertEqual(rotation.skipped, [try Scope("ops")])
        XCTAssertEqual(rotation.outcome.written, [id("a"), id("b")])
        XCTAssertEqual(rotation.outcome.rekeyed, [id("a"), id("b")])
        XCTAssertNotNil(rotation.outcome.commit)
        let after = try read("a.age")
        XCTAssertNotEqual(after[try payloadOffset(after)...], before[try payloadOffset(before)...])
        XCTAssertEqual(try read("ops/c.age"), opsBefore)
        XCTAssertEqual(try value("a"), "1")
        XCTAssertEqual(try vault.log().first?.origin.claimedAction, "rotate")
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    func testRotateUnderAPrefix() throws {
        try set(["prod/a": "1", "dev/b": "2"])
        let dev = try read("dev/b.age")
        let rotation = try vault.rotate(try Prefix("prod"), identities: [me])
        XCTAssertEqual(rotation.outcome.rekeyed, [id("prod/a")])
        XCTAssertEqual(rotation.skipped, [])
        XCTAssertEqual(try read("dev/b.age"), dev)
    }

    func testNothingYouReadMakesNoCommit() throws {
        try set(["a": "1"])
        let count = try commitCount()
        let rotation = try vault.rotate(identities: [X25519Identity.generate()])
        XCTAssertNil(rotation.outcome.commit)
        XCTAssertEqual(rotation.skipped, [.root])
        XCTAssertEqual(try commitCount(), count)
    }

    func testEmptyPrefixIsNoSecrets() throws {
        assertThrows(.noSecrets(under: .all)) { try vault.rotate(identities: [me]) }
        try set(["a": "1"])
        assertThrows(.noSecrets(under: try Prefix("prod"))) { try vault.rotate(try Prefix("prod"), identities: [me]) }
    }

    private func store() throws -> IdentityStore {
        let store = IdentityStore(path: directory + "/config/coffer/identity")
        try store.create(me, name: "me", passphrase: nil, workFactor: 10)
        return store
    }

    func testRotateIdentity() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(other, "other")])
        try commitRecipients("both", [named(other, "other"), named(me, "me")])
        try set(["a": "1", "ops/b": "2", "both/c": "3"])
        let store = try store()
        let rotation = try vault.rotateIdentity(in: store, identities: [me], name: "me", passphrase: nil, workFactor: 10)
        XCTAssertNotEqual(rotation.newKey, me.recipient)
        XCTAssertEqual(rotation.scopes, [.root, try Scope("both")])
        XCTAssertEqual(rotation.outcome.rekeyed, [id("a"), id("both/c")])

        let loaded = try store.load(passphrase: { XCTFail("no passphrase"); return SecureBytes(count: 0) })
        XCTAssertEqual(loaded.map(\.recipient), [rotation.newKey, me.recipient])
        XCTAssertEqual(store.publicKeys(), [rotation.newKey, me.recipient])
        XCTAssertEqual(try vault.readers(in: .root).readers, [NamedRecipient(recipient: rotation.newKey, name: "me")])
        XCTAssertEqual(try vault.readers(in: try Scope("both")).readers,
                       [named(other, "other"), NamedRecipient(recipient: rotation.newKey, name: "me")])

        // The old key alone reads only the past.
        assertThrows(.notReadable(id: "a", revision: nil)) { try vault.read(id("a"), identities: [me]) }
        XCTAssertEqual(try value("a", at: "v1"), "1")
        XCTAssertEqual(try value("a", identities: [loaded[0]]), "1")
        XCTAssertEqual(try value("both/c", identities: loaded), "3")
        XCTAssertEqual(try vault.log().first?.origin.claimedAction, "rotate-identity")
    }

    func testRotateIdentityRefusesAKeyThatReadsNothing() throws {
        let store = try store()
        let stranger = X25519Identity.generate()
        let before = try store.snapshot()
        assertThrows(.noKeyReadsVault) {
            try vault.rotateIdentity(in: store, identities: [stranger], name: nil, passphrase: nil, workFactor: 10)
        }
        XCTAssertTrue(try store.snapshot().constantTimeEquals(before))
    }

    /// The vault's `.signers` lists the store's signing key as "me".
    private func trustStore(_ store: IdentityStore, identities: [X25519Identity]) throws -> SSHEd25519PublicKey {
        let key = try store.signingKey(identities: identities).publicKey
        _ = try vault.apply(try vault.planAddSigner(try Signer(name: "me", key: key)), identities: [])
        return key
    }

    /// The signers that are not retired keys (kept for stock git, bounded by valid-before).
    private func currentSigners() throws -> [Signer] {
        try vault.signers().filter { $0.options == nil }
    }

    func testRotateIdentityReplacesTheSigningKeyInSigners() throws {
        try set(["a": "1"])
        let store = try store()
        let old = try trustStore(store, identities: [me])
        let other = SSHSigningKey.generate().publicKey
        _ = try vault.apply(try vault.planAddSigner(try Signer(name: "other", key: other)), identities: [])
        let rotation = try vault.rotateIdentity(in: store, identities: [me], name: "me", passphrase: nil, workFactor: 10)
        XCTAssertNotEqual(rotation.newSigningKey, old)
        XCTAssertEqual(rotation.replacedSigners.map(\.name), ["me"])
        XCTAssertEqual(try currentSigners().map(\.name), ["me", "other"])
        XCTAssertEqual(try currentSigners().map(\.key), [rotation.newSigningKey, other])
        XCTAssertEqual(try vault.signers().filter { $0.options != nil }.map(\.key), [old], "the old key, retired")
        // One commit: the readers, the secrets and .signers together.
        XCTAssertEqual(try git("show", "--name-only", "--format=", "HEAD"), ".recipients\n.signers\na.age")
        let loaded = try store.load(passphrase: { SecureBytes(count: 0) })
        XCTAssertEqual(try store.signingKey(identities: loaded).publicKey, rotation.newSigningKey)
        XCTAssertEqual(try store.signingPublicKey(), rotation.newSigningKey)
        // Sealed to the new key: the old one alone no longer opens it.
        XCTAssertThrowsError(try Age.decrypt(try Files.read(path: store.signingKeyPath), identities: [me]))
        XCTAssertEqual(try store.openSigningKey(loaded)?.retired, [old])

        // Rotating again replaces that key in turn.
        let second = try vault.rotateIdentity(in: store, identities: loaded, name: "me", passphrase: nil, workFactor: 10)
        XCTAssertEqual(second.replacedSigners.map(\.name), ["me"])
        XCTAssertEqual(try currentSigners().map(\.key), [second.newSigningKey, other])
        XCTAssertEqual(try vault.signers().filter { $0.options != nil }.map(\.key), [rotation.newSigningKey, old], "both retired")
    }

    func testInterruptedRotationStillReplacesTheSigningKey() throws {
        try set(["a": "1"])
        let store = try store()
        let old = try trustStore(store, identities: [me])
        // Both files were rewritten, then the process died before the commit.
        let pending = X25519Identity.generate(), pendingSigning = SSHSigningKey.generate()
        try store.replace(with: [pending, me], name: "me", passphrase: nil, workFactor: 10)
        try store.writeSigningKey(pendingSigning, retired: [old], sealedFor: pending.recipient)
        let identities = try store.load(passphrase: { SecureBytes(count: 0) })
        let rotation = try vault.rotateIdentity(in: store, identities: identities, name: "me", passphrase: nil, workFactor: 10)
        XCTAssertEqual(rotation.newKey, pending.recipient)
        XCTAssertEqual(try currentSigners().map(\.key), [rotation.newSigningKey])
        XCTAssertEqual(try store.signingKey(identities: try store.load(passphrase: { SecureBytes(count: 0) })).publicKey, rotation.newSigningKey)
    }

    func testFailedCommitPutsTheIdentityFileBack() throws {
        try set(["a": "1"])
        let store = try store()
        _ = try trustStore(store, identities: [me])
        let signingBefore = try Files.read(path: store.signingKeyPath)
        let signers = try read(".signers")
        let before = try store.snapshot()
        let head = try git("rev-parse", "HEAD")
        var held: DirectoryLock? = try DirectoryLock(path: root + "/.git/coffer.lock", timeout: 0)
        withExtendedLifetime(held) {
            assertThrows(.locked(waitedSeconds: 0)) {
                try vault.rotateIdentity(in: store, identities: [me], name: "me", passphrase: nil, workFactor: 10)
            }
        }
        held = nil
        XCTAssertTrue(try store.snapshot().constantTimeEquals(before))
        XCTAssertEqual(try Files.read(path: store.signingKeyPath), signingBefore)
        XCTAssertEqual(try read(".signers"), signers)
        XCTAssertEqual(try git("rev-parse", "HEAD"), head)
        XCTAssertEqual(try value("a"), "1")
        var info = stat()
        XCTAssertEqual(stat(store.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
    }

    func testInterruptedRotationReusesTheNewKey() throws {
        try set(["a": "1"])
        let store = try store()
        // The file was rewritten with a new key in front, then the process died.
        let pending = X25519Identity.generate()
        try store.replace(with: [pending, me], name: "me", passphrase: nil, workFactor: 10)
        let identities = try store.load(passphrase: { SecureBytes(count: 0) })
        let rotation = try vault.rotateIdentity(in: store, identities: identities, name: "me", passphrase: nil, workFactor: 10)
        XCTAssertEqual(rotation.newKey, pending.recipient)
        XCTAssertEqual(try store.load(passphrase: { SecureBytes(count: 0) }).map(\.recipient), [pending.recipient, me.recipient])
        XCTAssertEqual(try value("a", identities: [pending]), "1")
    }

    func testRotateIdentityWithAPassphrase() throws {
        try set(["a": "1"])
        let store = IdentityStore(path: directory + "/sealed/identity")
        try store.create(me, name: "me", passphrase: bytes("pass"), workFactor: 2)
        XCTAssertNil(store.publicKeys())
        let rotation = try vault.rotateIdentity(in: store, identities: [me], name: "me", passphrase: bytes("pass"), workFactor: 2)
        assertThrows(.wrongPassphrase(path: store.path)) { try store.load(passphrase: { self.bytes("wrong") }) }
        let loaded = try store.load(passphrase: { self.bytes("pass") })
        XCTAssertEqual(loaded.map(\.recipient), [rotation.newKey, me.recipient])
        XCTAssertEqual(try value("a", identities: loaded), "1")
    }
}
