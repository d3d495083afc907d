import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// The vault's settings (Operations/Config.swift): `planSigning` is one
/// commit changing only `.coffer-config`, planned against HEAD's bytes; and
/// a transaction signs unless the setting is off both before and after it.
final class VaultConfigTests: VaultTestCase {
    private let key = SSHSigningKey.generate()
    private var prepared = 0, signed = 0

    /// The vault trusts `key` (its `.signers`, pinned by `create`), which signs its commits.
    override func setUpWithError() throws {
        try super.setUpWithError()
        vault = try makeVault(at: directory + "/signed", readers: [named(me, "me")], signers: [try Signer(name: "me", key: key.publicKey)])
        sign(with: key)
    }

    private func sign(with key: SSHSigningKey) {
        vault.commitSigner = CommitSigner(signer: "test", prepare: { [unowned self] in prepared += 1 }) { [unowned self] commit in
            signed += 1
            return try key.sign(commit, namespace: CommitSigner.namespace)
        }
    }

    private func headIsSigned() throws -> Bool {
        try git("cat-file", "commit", "HEAD").contains("\ngpgsig ")
    }

    func testSigningOffIsOneSignedCommitAndTheNextAreUnsigned() throws {
        XCTAssertEqual(try vault.config(), VaultConfig(signing: true), "no .coffer-config: signing on")
        try set(["a": "1"])
        XCTAssertEqual([prepared, signed], [1, 1])

        let count = try commitCount()
        let outcome = try vault.apply(try vault.planSigning(false), identities: [])
        XCTAssertNotNil(outcome.commit)
        XCTAssertEqual(try commitCount(), count + 1)
        XCTAssertEqual(try git("show", "--name-only", "--format=", "HEAD"), ".coffer-config")
        XCTAssertEqual(try git("log", "-1", "--format=%s"), "coffer: config signing=off")
        XCTAssertTrue(try headIsSigned(), "turning signing off is signed")
        XCTAssertEqual([prepared, signed], [2, 2])
        XCTAssertEqual(try vault.config(), VaultConfig(signing: false))
        XCTAssertEqual(try vault.log().first?.action, "config")

        // Off: neither the key is readied (no passphrase asked) nor asked to sign.
        try set(["a": "2"])
        XCTAssertFalse(try headIsSigned())
        XCTAssertEqual([prepared, signed], [2, 2])

        _ = try vault.apply(try vault.planSigning(true), identities: [])
        XCTAssertTrue(try headIsSigned(), "turning signing on is signed")
        try set(["a": "3"])
        XCTAssertTrue(try headIsSigned())
        XCTAssertEqual([prepared, signed], [4, 4])
        XCTAssertEqual(try value("a"), "3")
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    /// A key `.signers` does not list may commit `signing = off`, but the
    /// chain of trust holds it back, and this clone goes on signing.
    func testAnUntrustedChangeDoesNotTurnSigningOff() throws {
        sign(with: SSHSigningKey.generate())
        _ = try vault.apply(try vault.planSigning(false), identities: [])
        XCTAssertTrue(try headIsSigned())
        sign(with: key)
        try set(["a": "1"])
        XCTAssertTrue(try headIsSigned(), "signed: the change that turned it off is not trusted")
        XCTAssertEqual(try vault.config(), VaultConfig(signing: false), "what HEAD records")
    }

    func testTheSettingInPlaceChangesNothing() throws {
        let plan = try vault.planSigning(true)
        XCTAssertTrue(plan.changesNothing)
        let count = try commitCount()
        XCTAssertNil(try vault.apply(plan, identities: []).commit)
        _ = try vault.apply(try vault.planSigning(false), identities: [])
        XCTAssertTrue(try vault.planSigning(false).changesNothing)
        XCTAssertFalse(try vault.planSigning(true).changesNothing)
        XCTAssertEqual(try commitCount(), count + 1)
    }

    func testAChangeMadeMeanwhileIsNotOverwritten() throws {
        let stale = try vault.planSigning(false)
        _ = try vault.apply(try vault.planSigning(false), identities: [])
        let head = try git("rev-parse", "HEAD")
        assertThrows(.configChanged) { try vault.apply(stale, identities: []) }
        XCTAssertEqual(try git("rev-parse", "HEAD"), head)
    }

    func testAnUnsignedChangeIsRefused() throws {
        vault.commitSigner = nil
        let head = try git("rev-parse", "HEAD")
        assertThrows(.unsignedConfigChange) { try vault.apply(try vault.planSigning(false), identities: []) }
        vault.commitSigner = CommitSigner(signer: "nobody") { _ in nil }
        assertThrows(.unsignedConfigChange) { try vault.apply(try vault.planSigning(false), identities: []) }
        XCTAssertEqual(try git("rev-parse", "HEAD"), head)
        XCTAssertFalse(Files.exists(path(".coffer-config")))
    }

    func testFilesByHand() throws {
        try write(".coffer-config", "signing = off\n")
        assertThrows(.uncommittedConfig(path: ".coffer-config")) { try vault.config() }
        assertThrows(.uncommittedConfig(path: ".coffer-config")) { try vault.planSigning(true) }
        try write(".coffer-config", "# settings\n\n  signing=maybe\n")
        try commitByHand([".coffer-config"])
        assertThrows(.invalidConfig(path: ".coffer-config", line: 3)) { try vault.config() }
        // A doubt never turns signing off; the use case writes the file anew.
        try set(["a": "1"])
        XCTAssertTrue(try headIsSigned())
        _ = try vault.apply(try vault.planSigning(false), identities: [])
        XCTAssertEqual(try vault.config(), VaultConfig(signing: false))
    }
}
