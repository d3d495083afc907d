import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// ssh-ed25519 keys as readers and identities: a `.recipients` line may be
/// an SSH public key, `--identity` an OpenSSH private key, and what coffer
/// seals for it opens with stock `age -i id_ed25519` (and the other way).
final class SSHReaderTests: VaultE2ECase {
    /// `ssh-keygen -t ed25519` in the test directory: (private key path, `.pub` line).
    private func sshKey(_ name: String, passphrase: String = "", type: String = "ed25519",
                        file: StaticString = #filePath, line: UInt = #line) throws -> (key: String, pub: String) {
        let keygen = try requireTool("ssh-keygen", file: file, line: line)
        try succeed(keygen, ["-q", "-t", type, "-N", passphrase, "-C", "\(name)@laptop", "-f", path(name)], file: file, line: line)
        let pub = try String(contentsOfFile: path(name) + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (path(name), pub)
    }

    func testAScopeWithAnX25519AndAnSSHReaderOpensWithEitherThroughCofferAndStockAge() throws {
        let mine = try initVault()
        let bob = try sshKey("bob")
        // The .pub line as it is: its comment becomes the reader's name.
        let added = try cofOK(["recipients", "add", bob.pub])
        XCTAssertTrue(added.stderrText.contains("bob@laptop"), added.stderrText)
        let recipients = try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8)
        XCTAssertTrue(recipients.contains(bob.pub.split(separator: " ").prefix(2).joined(separator: " ")), recipients)

        let values = ["app/empty": "", "app/one": "x", "app/big": String(repeating: "s", count: 65537)]
        for (id, value) in values { try cofOK(["set", id, "--stdin"], stdin: Data(value.utf8)) }
        for (id, value) in values {
            XCTAssertEqual(try cofOK(["get", id, "--reveal", "--identity", bob.key]).stdoutText, value, "\(id) through coffer with the SSH key")
            XCTAssertEqual(String(decoding: try reveal(id), as: UTF8.self), value, "\(id) through coffer with the X25519 key")
            XCTAssertEqual(try ageDecrypt(sealedPath(id), identity: bob.key).stdoutText, value, "\(id) through stock age with the SSH key")
            XCTAssertEqual(try ageDecrypt(sealedPath(id)).stdoutText, value, "\(id) through stock age with the X25519 key")
        }
        // A file stock age seals for both, put in by hand, opens for both through coffer.
        let age = try requireTool("age", file: #filePath, line: #line)
        let byAge = try succeed(age, ["-r", mine, "-r", bob.pub, "-o", path("by-age.age")], stdin: Data("from age".utf8))
        XCTAssertEqual(byAge.status, 0)
        XCTAssertEqual(try cofOK(["age", "decrypt", "-i", bob.key, path("by-age.age")], clean: false).stdoutText, "from age")

        // verify and the readers list name the SSH reader like any other.
        let verify = try cofOK(["verify", "--identity", bob.key]).stderrText + (try cofOK(["verify", "--identity", bob.key]).stdoutText)
        XCTAssertTrue(verify.contains("3 decrypted with your identity"), verify)
        let list = try cofOK(["recipients", "list", "-o", "json"]).stdoutText
        XCTAssertTrue(list.contains("ssh-ed25519 AAAA"), list)
        XCTAssertTrue(list.contains("bob@laptop"), list)

        // Removing the SSH reader re-keys: the old SSH key no longer opens anything.
        try cofOK(["recipients", "rm", "bob@laptop", "--yes"])
        let after = try cof(["get", "app/one", "--reveal", "--identity", bob.key])
        XCTAssertEqual(after.status, 1)
        XCTAssertTrue(after.stderrText.contains("none of your identities is a reader"), after.stderrText)
    }

    func testAnSSHIdentitySignsAsItselfAndStockGitVerifiesIt() throws {
        let carol = try sshKey("carol")
        try cofOK(["init", vaultDir, "--name", "carol", "--identity", carol.key])
        try cofOK(["set", "a", "--stdin", "--identity", carol.key], stdin: Data("v".utf8))
        let signers = try String(contentsOfFile: vaultDir + "/.signers", encoding: .utf8)
        XCTAssertTrue(signers.contains(carol.pub.split(separator: " ").prefix(2).joined(separator: " ")), signers)
        let verified = try git(["-c", "gpg.ssh.allowedSignersFile=.signers", "verify-commit", "HEAD"])
        XCTAssertEqual(verified.status, 0, verified.stderrText)
        XCTAssertTrue(verified.stderrText.contains("Good \"git\" signature for carol"), verified.stderrText)
        XCTAssertEqual(try cofOK(["identity", "show", "--identity", carol.key]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                       carol.pub.split(separator: " ").prefix(2).joined(separator: " ") + " coffer:tester", "an SSH key records no name: the user's is shown")
    }

    func testAPassphraseProtectedSSHKeyIsRefusedWithAHintAndImportMakesItAnIdentity() throws {
        try initVault()
        let dave = try sshKey("dave", passphrase: "old secret words")
        try cofOK(["recipients", "add", dave.pub, "--name", "dave"])
        try cofOK(["set", "team/db", "--stdin"], stdin: Data("s3cret-value".utf8))
        let refused = try cof(["get", "team/db", "--reveal", "--identity", dave.key])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("protected by its own passphrase"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("coffer: hint: make a coffer identity of it, protected by coffer's passphrase: coffer identity import --ssh"),
                      refused.stderrText)

        let imported = path("home/dave-identity/id")
        let wrong = try cof(["identity", "import", "--ssh", dave.key, "--key-passphrase-file", try write("wrong", "nope\n"),
                             "--identity", imported])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderrText.contains("nothing was imported"), wrong.stderrText)
        XCTAssertFalse(fileExists(imported))

        try cofOK(["identity", "import", "--ssh", dave.key, "--key-passphrase-file", try write("old", "old secret words\n"),
                   "--identity", imported, "--passphrase-file", try write("new", "coffer words\n")])
        var info = stat()
        XCTAssertEqual(stat(imported, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        // Sealed with coffer's passphrase: no private key text at rest.
        let stored = try String(contentsOfFile: imported, encoding: .utf8)
        XCTAssertTrue(stored.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----"), stored)
        // The private copy ssh-keygen opened is gone.
        let left = try FileManager.default.contentsOfDirectory(atPath: path("home/dave-identity"))
        XCTAssertEqual(left.sorted(), ["id", "id.pub"])
        XCTAssertEqual(try cofOK(["get", "team/db", "--reveal", "--identity", imported, "--passphrase-file", path("new")]).stdoutText,
                       "s3cret-value")
        let noPassphrase = try cof(["get", "team/db", "--reveal", "--identity", imported])
        XCTAssertEqual(noPassphrase.status, 1, "a protected identity opened without its passphrase")

        // Its coffer passphrase changes, and can be removed, like any identity's.
        try cofOK(["identity", "passwd", "--identity", imported, "--passphrase-file", path("new"),
                   "--new-passphrase-file", try write("newer", "other words\n")])
        XCTAssertEqual(try cof(["get", "team/db", "--reveal", "--identity", imported, "--passphrase-file", path("new")]).status, 1)
        XCTAssertEqual(try cofOK(["get", "team/db", "--reveal", "--identity", imported, "--passphrase-file", path("newer")]).stdoutText,
                       "s3cret-value")
        try cofOK(["identity", "passwd", "--remove", "--identity", imported, "--passphrase-file", path("newer")])
        XCTAssertTrue(try String(contentsOfFile: imported, encoding: .utf8).hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))
        XCTAssertEqual(try cofOK(["get", "team/db", "--reveal", "--identity", imported]).stdoutText, "s3cret-value")
        // An SSH key coffer did not write is never rewritten.
        let plain = try sshKey("erin")
        let before = try Data(contentsOf: URL(fileURLWithPath: plain.key))
        let refusedPasswd = try cof(["identity", "passwd", "--identity", plain.key, "--new-passphrase-file", path("new")])
        XCTAssertEqual(refusedPasswd.status, 1)
        XCTAssertTrue(refusedPasswd.stderrText.contains("is an SSH key; coffer uses it as it is"), refusedPasswd.stderrText)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: plain.key)), before)
    }

    /// On a terminal too, `ssh-keygen -p` takes the SSH key's passphrase from
    /// its stdin, as coffer gives it: it never asks again on /dev/tty (where a
    /// --key-passphrase-file run would otherwise stall, or fail).
    func testImportingAProtectedSSHKeyOnATerminalTakesThePassphraseGiven() throws {
        let erin = try sshKey("erin", passphrase: "erin's words")
        let imported = path("home/erin-identity/id")
        let coffer = try XCTUnwrap(self.coffer)
        let result = try runOnTerminal([coffer, "identity", "import", "--ssh", erin.key, "--identity", imported,
                                        "--key-passphrase-file", try write("erin-pw", "erin's words\n"),
                                        "--passphrase-file", try write("erin-coffer-pw", "coffer words\n")],
                                       prompt: "old passphrase", answer: "not erin's words", maxAnswers: 1, timeout: 20)
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText)
        XCTAssertFalse(result.stdoutText.contains("Enter old passphrase"), "ssh-keygen asked on the terminal: \(result.stdoutText)")
        XCTAssertTrue(fileExists(imported))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("home/erin-identity")).sorted(), ["id", "id.pub"])
    }

    /// A key its owner protected with a passphrase is never stored in clear by
    /// the import (SECURITY.md: "stored sealed with coffer's passphrase"):
    /// without --protect or --passphrase-file it asks for one, and with no one
    /// to ask nothing is imported.
    func testAPassphraseProtectedSSHKeyIsNeverImportedInClear() throws {
        let fred = try sshKey("fred", passphrase: "fred's words")
        let imported = path("home/fred-identity/id")
        let result = try cof(["identity", "import", "--ssh", fred.key, "--identity", imported,
                              "--key-passphrase-file", try write("fred-pw", "fred's words\n")])
        if fileExists(imported) {
            let stored = try String(contentsOfFile: imported, encoding: .utf8)
            XCTAssertFalse(stored.contains("OPENSSH PRIVATE KEY"), "a protected SSH key stored in clear: \(result.stderrText)")
        } else {
            XCTAssertEqual(result.status, 1, result.stderrText)
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText)
        }
        // An unprotected key stays the user's choice.
        let gail = try sshKey("gail")
        try cofOK(["identity", "import", "--ssh", gail.key, "--identity", path("home/gail-identity/id")])
    }

    /// A pasted `.pub` whose comment runs onto a second line (or a `--name`
    /// that does) must not write a second, unseen reader into `.recipients`.
    func testAReaderNameWithALineBreakIsRefusedAndAddsNoHiddenReader() throws {
        try initVault()
        try cofOK(["set", "a=1"])
        let bob = try sshKey("bob"), mallory = try sshKey("mallory")
        let malloryKey = mallory.pub.split(separator: " ").prefix(2).joined(separator: " ")
        let bobKey = bob.pub.split(separator: " ").prefix(2).joined(separator: " ")
        let before = try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8)
        let commits = try commitCount()
        for arguments in [[bobKey + " bob\n" + malloryKey], [bobKey, "--name", "bob\n" + malloryKey]] {
            let result = try cof(["recipients", "add"] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: "), result.stderrText)
            XCTAssertEqual(try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8), before)
            XCTAssertEqual(try commitCount(), commits)
        }
        try cofOK(["verify"])
    }

    func testOtherSSHKeyTypesAreRefusedByName() throws {
        try initVault()
        let rsa = try sshKey("rsa", type: "rsa")
        let added = try cof(["recipients", "add", rsa.pub])
        XCTAssertEqual(added.status, 1)
        XCTAssertTrue(added.stderrText.contains("\"ssh-rsa\" is not supported; only ssh-ed25519 keys are"), added.stderrText)
        let asIdentity = try cof(["get", "x", "--identity", rsa.key])
        XCTAssertEqual(asIdentity.status, 1)
        XCTAssertTrue(asIdentity.stderrText.hasPrefix("coffer: error: "), asIdentity.stderrText)
        // A hand-edited .recipients line of that kind names its line and why.
        try FileManager.default.removeItem(atPath: vaultDir + "/.recipients")
        try (rsa.pub + "\n").write(toFile: vaultDir + "/.recipients", atomically: true, encoding: .utf8)
        let listed = try cof(["recipients", "list"], clean: false)
        XCTAssertEqual(listed.status, 1)
        XCTAssertTrue(listed.stderrText.contains(".recipients line 1: SSH key type \"ssh-rsa\" is not supported"), listed.stderrText)
    }
}
