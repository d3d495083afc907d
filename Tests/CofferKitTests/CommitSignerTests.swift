import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// `Vault.commitSigner` (Store/CommitSigner.swift): the init commit and each
/// transaction's commit carry an SSHSIG (namespace git) over the commit
/// object without its `gpgsig` header; a signer that throws commits nothing.
final class CommitSignerTests: VaultTestCase {
    private let key = SSHSigningKey.generate()

    /// The key that signed `rev`, checked as git checks it (nil: unsigned).
    private func signer(of rev: String = "HEAD", in root: String? = nil) throws -> SSHEd25519PublicKey? {
        let object = try git("cat-file", "commit", rev, in: root ?? vault.root) + "\n"
        var kept: [Substring] = [], armor: [Substring] = []
        var inSignature = false
        for line in object.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("gpgsig ") { inSignature = true; armor.append(line.dropFirst(7)); continue }
            if inSignature, line.hasPrefix(" ") { armor.append(line.dropFirst()); continue }
            inSignature = false
            kept.append(line)
        }
        guard !armor.isEmpty else { return nil }
        let message = Array((kept.joined(separator: "\n") + "\n").utf8)
        return try SSHSignature.verify(armor.joined(separator: "\n") + "\n", message: message, namespace: "git")
    }

    func testInitAndEachTransactionAreSignedByTheKey() throws {
        XCTAssertNil(try signer(), "a vault without a signer commits unsigned")
        let signed = try Vault.create(at: directory + "/signed", readers: [named(me, "me")],
                                      configuration: VaultTestCase.configuration, commitSigner: CommitSigner(key: key))
        XCTAssertEqual(try signer(in: signed.root), key.publicKey)
        try set(["a": "1"], in: signed)
        XCTAssertEqual(try signer(in: signed.root), key.publicKey)
        XCTAssertEqual(try signer(of: "HEAD~1", in: signed.root), key.publicKey)
    }

    func testAThrowingSignerCommitsNothing() throws {
        try set(["a": "1"])
        let before = try git("rev-parse", "HEAD")
        struct Locked: Error {}
        var calls = 0
        vault.commitSigner = CommitSigner(signer: "test") { _ in calls += 1; throw Locked() }
        XCTAssertThrowsError(try set(["a": "2", "b": "3"])) { XCTAssertTrue($0 is Locked, "\($0)") }
        XCTAssertEqual(calls, 1)
        XCTAssertEqual(try git("rev-parse", "HEAD"), before)
        XCTAssertEqual(try git("status", "--porcelain"), "")
        vault.commitSigner = CommitSigner(key: key)
        try set(["a": "2"])
        XCTAssertEqual(try signer(), key.publicKey)
    }

    /// `prepare` runs first, before the lock: a throw there stops the write
    /// before any sealing, and `sign` is never asked.
    func testPrepareRunsBeforeTheWriteAndCanStopIt() throws {
        try set(["a": "1"])
        let before = try git("rev-parse", "HEAD")
        struct NoPassphrase: Error {}
        var signed = 0, prepared = 0
        vault.commitSigner = CommitSigner(signer: "test", prepare: { prepared += 1; throw NoPassphrase() }) { _ in signed += 1; return nil }
        XCTAssertThrowsError(try set(["b": "2"])) { XCTAssertTrue($0 is NoPassphrase, "\($0)") }
        XCTAssertEqual([prepared, signed], [1, 0])
        XCTAssertEqual(try git("rev-parse", "HEAD"), before)
        let key = self.key
        vault.commitSigner = CommitSigner(signer: "test", prepare: { prepared += 1 }) { signed += 1; return try key.sign($0, namespace: "git") }
        try set(["b": "2"])
        XCTAssertEqual([prepared, signed], [2, 1])
        XCTAssertEqual(try signer(), key.publicKey)
    }
}
