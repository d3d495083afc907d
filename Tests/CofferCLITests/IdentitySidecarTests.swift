import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `identity.pub` beside the identity: `identity show` prints the public key
/// without a passphrase, and a sidecar that does not match the key is
/// refused whenever the key is unlocked (issue 9, item 7).
final class IdentitySidecarTests: VaultE2ECase {
    private var sidecar: String { identityFile + ".pub" }

    /// The sidecar's age keys (its signing key line left out).
    private func sidecarKeys() throws -> [String] {
        try String(contentsOfFile: sidecar, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") && !$0.hasPrefix("ssh-ed25519 ") }.map(String.init)
    }

    /// The sidecar's signing key line, if any.
    private func sidecarSigningLine() throws -> String? {
        try String(contentsOfFile: sidecar, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("ssh-ed25519 ") }.map(String.init)
    }

    private func passphraseFile(_ name: String = "pw", _ text: String = "sidecar passphrase 1") throws -> String {
        try write(name, text + "\n")
    }

    func testProtectedIdentityShowsItsKeyWithoutAPassphrase() throws {
        let pw = try passphraseFile()
        let created = try cofOK(["identity", "new", "--protect", "--passphrase-file", pw])
        let key = created.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(key.hasPrefix("age1"), created.stdoutText)
        XCTAssertEqual(try sidecarKeys(), [key])
        XCTAssertEqual(try mode("home/.config/coffer/identity.pub"), 0o644)

        // No --passphrase-file and no terminal (setsid): nothing to ask with, yet it prints
        // both keys, the signing key as an OpenSSH public key line.
        let shown = try cofOK(["identity", "show"])
        let signing = try XCTUnwrap(try sidecarSigningLine())
        XCTAssertTrue(signing.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI") && signing.hasSuffix(" coffer:tester"), signing)
        XCTAssertEqual(shown.stdoutText, key + "\n" + signing + "\n")
        XCTAssertEqual(shown.stderrText, "")

        // Without a sidecar (an identity from before it existed) show asks as before…
        XCTAssertEqual(unlink(sidecar), 0)
        let asks = try cof(["identity", "show"])
        XCTAssertEqual(asks.status, 1, asks.stderrText)
        XCTAssertTrue(asks.stderrText.hasPrefix("coffer: error: no terminal to read a passphrase from\n"), asks.stderrText)
        // …and, once unlocked, writes it again, the same signing key included.
        XCTAssertEqual(try cofOK(["identity", "show", "--passphrase-file", pw]).stdoutText, key + "\n" + signing + "\n")
        XCTAssertEqual(try sidecarKeys(), [key])
        XCTAssertEqual(try sidecarSigningLine(), signing)
        XCTAssertEqual(try cofOK(["identity", "show"]).stdoutText, key + "\n" + signing + "\n")

        // passwd rewrites it with the same keys; removing the passphrase keeps it right.
        try cofOK(["identity", "passwd", "--remove", "--passphrase-file", pw])
        XCTAssertEqual(try sidecarKeys(), [key])
        XCTAssertEqual(try cofOK(["identity", "show"]).stdoutText, key + "\n" + signing + "\n")
    }

    func testASwappedSidecarIsRefusedWhenTheKeyIsUnlocked() throws {
        let pw = try passphraseFile()
        try cofOK(["identity", "new", "--protect", "--passphrase-file", pw])
        try cofOK(["init", vaultDir, "--passphrase-file", pw])
        try cofOK(["set", "s=1", "--passphrase-file", pw])
        let attacker = try cofferKeygen("attacker")
        try write("home/.config/coffer/identity.pub", attacker.recipient + "\n")

        for arguments in [["get", "s", "--reveal"], ["recipients", "add", attacker.recipient], ["identity", "passwd", "--remove"]] {
            let result = try cof(arguments + ["--passphrase-file", pw])
            XCTAssertEqual(result.status, 1, "\(result.command): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: \(sidecar) does not name the public key of identity \(identityFile)\n"
                                                      + "coffer: hint: if you did not change it, someone else may have"),
                          "\(result.command): \(result.stderrText)")
            XCTAssertEqual(result.stdoutText, "")
        }
        XCTAssertFalse(try cofOK(["recipients", "list"]).stdoutText.contains(attacker.recipient), "the attacker's key became a reader")

        // A sidecar that is not even a key list is refused the same way.
        try write("home/.config/coffer/identity.pub", "not a key\n")
        XCTAssertEqual(try cof(["get", "s", "--reveal", "--passphrase-file", pw]).status, 1)
    }

    /// A sidecar naming the right age key but another signing key: a write,
    /// which opens the signing key once to check it and sign, is refused
    /// and commits nothing.
    func testASidecarNamingAnotherSigningKeyIsRefusedByAWrite() throws {
        _ = try initVault()
        try cofOK(["set", "s=1"])
        let commits = try gitOK(["rev-list", "--count", "HEAD"]).stdoutText
        let line = try XCTUnwrap(try sidecarSigningLine())
        let text = try String(contentsOfFile: sidecar, encoding: .utf8)
        let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB/Pkodybo8LHTRFDjJYEM71qVLYo3zqOecB+lXCyRrw"
        XCTAssertNotEqual(line, other)
        try write("home/.config/coffer/identity.pub", text.replacingOccurrences(of: line, with: other))
        let refused = try cof(["set", "s=2"])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.hasPrefix("coffer: error: \(sidecar) does not name the public key of identity \(identityFile)\n"),
                      refused.stderrText)
        XCTAssertEqual(try gitOK(["rev-list", "--count", "HEAD"]).stdoutText, commits, "a commit was made")
    }

    func testUnprotectedIdentityShowChecksItsSidecar() throws {
        let key = try initVault()
        XCTAssertEqual(try sidecarKeys(), [key], "init wrote the sidecar with the identity")
        let other = try cofferKeygen("other")
        try write("home/.config/coffer/identity.pub", other.recipient + "\n")
        let shown = try cof(["identity", "show"])
        XCTAssertEqual(shown.status, 1, shown.stderrText)
        XCTAssertEqual(shown.stdoutText, "", "a swapped sidecar's key was printed")
        XCTAssertTrue(shown.stderrText.hasPrefix("coffer: error: \(sidecar) does not name the public key"), shown.stderrText)

        // Removed as the hint says: show writes it again from the key.
        XCTAssertEqual(unlink(sidecar), 0)
        XCTAssertEqual(try cofOK(["identity", "show"]).stdoutText.ageLines, key)
        XCTAssertEqual(try sidecarKeys(), [key])
    }

    /// rotate writes the new key in front; the sidecar follows, and show needs no passphrase.
    func testRotateAndImportWriteTheSidecar() throws {
        let pw = try passphraseFile()
        let imported = try ageKeygen("imported.txt")
        try cofOK(["identity", "import", imported.identityFile])
        XCTAssertEqual(try sidecarKeys(), [imported.recipient])
        try cofOK(["identity", "passwd", "--new-passphrase-file", pw])
        try cofOK(["init", vaultDir, "--passphrase-file", pw])
        try cofOK(["set", "s=1", "--passphrase-file", pw])
        let rotated = try cofOK(["identity", "rotate", "--passphrase-file", pw]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try sidecarKeys(), [rotated, imported.recipient])
        XCTAssertEqual(try cofOK(["identity", "show"]).stdoutText, "\(rotated)\n\(imported.recipient)\n\(try XCTUnwrap(try sidecarSigningLine()))\n")
        XCTAssertEqual(try cofOK(["get", "s", "--reveal", "--passphrase-file", pw]).stdoutText, "1")
    }
}
