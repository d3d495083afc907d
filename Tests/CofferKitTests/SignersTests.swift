import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// `.signers` at the vault's root (Model/Signer.swift, Operations/Signers.swift).
final class SignersTests: VaultTestCase {
    private let alice = SSHSigningKey.generate(), bob = SSHSigningKey.generate()

    private func signer(_ name: String, _ key: SSHSigningKey) throws -> Signer { try Signer(name: name, key: key.publicKey) }

    @discardableResult
    private func apply(_ plan: ChangePlan) throws -> ChangeOutcome { try vault.apply(plan, identities: []) }

    private func changedFiles() throws -> [String] {
        try git("show", "--name-only", "--format=", "HEAD").split(separator: "\n").map(String.init)
    }

    func testCreateNamesTheCreator() throws {
        XCTAssertEqual(try vault.signers(), [], "a vault made without signers trusts no one")
        XCTAssertFalse(Files.exists(path(".signers")))
        let made = try makeVault(at: directory + "/signed", readers: [named(me, "me")], signers: [try signer("alice", alice)])
        XCTAssertEqual(try made.signers(), [try signer("alice", alice)])
        let text = String(decoding: try Files.read(path: made.root + "/.signers"), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("# Who may sign for this vault"), text)
        XCTAssertTrue(text.hasSuffix("\nalice \(alice.publicKey.authorizedKey)\n"), text)
        XCTAssertEqual(try git("ls-files", in: made.root), ".gitattributes\n.recipients\n.signers")
        XCTAssertEqual(try git("status", "--porcelain", in: made.root), "")
    }

    func testAddAndRemoveAreOneCommitEach() throws {
        try set(["a": "1"])
        let count = try commitCount()
        let added = try apply(try vault.planAddSigner(try signer("alice", alice)))
        XCTAssertNotNil(added.commit)
        XCTAssertEqual(try changedFiles(), [".signers"])
        XCTAssertEqual(try git("log", "-1", "--format=%s"), "coffer: signers-add alice \(alice.publicKey.fingerprint)")
        XCTAssertEqual(try vault.log().first?.origin.claimedAction, "signers-add")
        try apply(try vault.planAddSigner(try signer("bob", bob)))
        XCTAssertEqual(try vault.signers().map(\.name), ["alice", "bob"])
        XCTAssertEqual(try commitCount(), count + 2)
        assertThrows(.alreadySigner(name: "bob", fingerprint: bob.publicKey.fingerprint)) { try vault.planAddSigner(try signer("bob", bob)) }
        // The same key under another name is another line.
        try apply(try vault.planAddSigner(try signer("robert", bob)))

        let plan = try vault.planRemoveSigner(try SignerSelector(bob.publicKey.authorizedKey + " some comment"))
        XCTAssertEqual(plan.removedSigners.map(\.name), ["bob", "robert"])
        try apply(plan)
        XCTAssertEqual(try changedFiles(), [".signers"])
        XCTAssertTrue(try git("log", "-1", "--format=%B").contains("Coffer-Signer-Removed: robert \(bob.publicKey.fingerprint)"))
        XCTAssertEqual(try vault.signers(), [try signer("alice", alice)])
        assertThrows(.notASigner("bob")) { try vault.planRemoveSigner(.name("bob")) }
        assertThrows(.lastSigner("alice")) { try vault.planRemoveSigner(.name("alice")) }
        XCTAssertEqual(try commitCount(), count + 4)
        XCTAssertEqual(try value("a"), "1")
        XCTAssertEqual(try git("status", "--porcelain"), "")
    }

    /// Comments, options and several principals on a line, written by hand,
    /// stay as they were through edits of other lines.
    func testHandWrittenLinesAreKept() throws {
        let text = """
            # team signers
            ops,alice namespaces="coffer-bundle",valid-after="20200101Z" \(alice.publicKey.authorizedKey) alice's laptop

            bob namespaces="git" \(bob.publicKey.authorizedKey)

            """
        try write(".signers", text)
        try commitByHand([".signers"])
        XCTAssertEqual(try vault.signers().map(\.name), ["ops", "alice", "bob"])
        // An unsigned commit: the chain of trust holds it back until a person pins it.
        XCTAssertEqual(try vault.trustedSigners(for: alice.publicKey, namespace: "coffer-bundle", at: Int64(Date().timeIntervalSince1970)), [])
        try vault.pin(try vault.pinCandidate())
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(try vault.trustedSigners(for: alice.publicKey, namespace: "coffer-bundle", at: now).map(\.name), ["ops", "alice"])
        XCTAssertEqual(try vault.trustedSigners(for: bob.publicKey, namespace: "coffer-bundle", at: now), [], "bob signs for git only")
        XCTAssertEqual(try vault.trustedSigners(for: alice.publicKey, namespace: "coffer-bundle", at: 1_500_000_000), [], "not valid yet then")
        XCTAssertEqual(try vault.signers().first?.options, "namespaces=\"coffer-bundle\",valid-after=\"20200101Z\"")

        let carol = SSHSigningKey.generate()
        try apply(try vault.planAddSigner(try signer("carol", carol)))
        XCTAssertEqual(String(decoding: try read(".signers"), as: UTF8.self), text + "carol \(carol.publicKey.authorizedKey)\n")
        let removing = try vault.planRemoveSigner(.name("ops"))
        XCTAssertEqual(removing.removedSigners.map(\.name), ["ops"], "alice stays, on the same line")
        try apply(removing)
        XCTAssertEqual(String(decoding: try read(".signers"), as: UTF8.self), text.replacingOccurrences(of: "ops,alice", with: "alice")
                       + "carol \(carol.publicKey.authorizedKey)\n")
    }

    func testUncommittedEditsAreRefused() throws {
        try apply(try vault.planAddSigner(try signer("alice", alice)))
        let committed = try read(".signers")
        try write(".signers", committed + Array("mallory \(bob.publicKey.authorizedKey)\n".utf8))
        assertThrows(.uncommittedSigners(path: ".signers")) { try vault.signers() }
        assertThrows(.uncommittedSigners(path: ".signers")) { try vault.planAddSigner(try signer("bob", bob)) }
        assertThrows(.uncommittedSigners(path: ".signers")) { try vault.planRemoveSigner(.name("alice")) }
        XCTAssertEqual(unlink(path(".signers")), 0)
        assertThrows(.uncommittedSigners(path: ".signers")) { try vault.signers() }
        try write(".signers", committed)
        XCTAssertEqual(try vault.signers().map(\.name), ["alice"])
        // A file no commit ever had is not trusted either.
        let fresh = try makeVault(at: directory + "/fresh", readers: [named(me, "me")])
        try Data(committed).write(to: URL(fileURLWithPath: fresh.root + "/.signers"))
        XCTAssertThrowsError(try fresh.signers()) { XCTAssertEqual($0 as? VaultError, .uncommittedSigners(path: ".signers")) }
    }

    func testLinesCofferDoesNotAcceptAreRefusedNamingTheLine() throws {
        for (line, reason) in [
            ("* \(alice.publicKey.authorizedKey)", "principal \"*\" cannot be used"),
            ("alice cert-authority \(alice.publicKey.authorizedKey)", "cert-authority is not supported"),
            ("alice ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "\"ssh-rsa\" keys are not supported"),
            ("alice \(alice.publicKey.authorizedKey)\u{0B}bob", "control characters"),
            ("alice\u{2028}\(alice.publicKey.authorizedKey)", "control characters"),
        ] {
            try write(".signers", "# ok\n" + line + "\n")
            try commitByHand([".signers"])
            XCTAssertThrowsError(try vault.signers(), line) { error in
                guard case .invalidSignersFile(".signers", 2, let message)? = error as? VaultError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(reason), message)
            }
        }
    }

    func testAChangeMadeMeanwhileIsNotOverwritten() throws {
        try apply(try vault.planAddSigner(try signer("alice", alice)))
        let stale = try vault.planAddSigner(try signer("bob", bob))
        try apply(try vault.planAddSigner(try signer("carol", SSHSigningKey.generate())))
        let head = try git("rev-parse", "HEAD")
        assertThrows(.signersChanged) { try apply(stale) }
        XCTAssertEqual(try git("rev-parse", "HEAD"), head)
        XCTAssertEqual(try vault.signers().map(\.name), ["alice", "carol"])
    }

    func testNamesAreChecked() throws {
        for name in ["", "a,b", "*", "!x", "#x", "a\nb", "AGE-SECRET-KEY-1QQQ"] {
            XCTAssertThrowsError(try Signer(name: name, key: alice.publicKey), name.debugDescription)
            XCTAssertThrowsError(try Signer.checkName(name), name.debugDescription)
        }
        XCTAssertEqual(try Signer(name: "Alice Smith", key: alice.publicKey).name, "Alice Smith")
        XCTAssertEqual(try SignerSelector("ssh-bot"), .name("ssh-bot"))
        XCTAssertEqual(try SignerSelector(alice.publicKey.authorizedKey + " c"), .key(alice.publicKey))
        XCTAssertThrowsError(try SignerSelector("ssh-rsa AAAAB3NzaC1yc2E"))
        XCTAssertTrue(Journal.isVaultPath(".signers"))
        XCTAssertFalse(Journal.isVaultPath("prod/.signers"))
    }
}
