import Foundation
import XCTest
import SSHSig
import Age

/// `.signers` and the identity's signing key, end to end: `init` names the
/// creator, `signers add|rm` are one commit each, `identity rotate` swaps
/// the key in `.signers`, and stock `ssh-keygen -Y verify -f .signers`
/// accepts what the identity's key signs (issue 11, first two items).
final class SignersCLITests: VaultE2ECase {
    private var signingFile: String { identityFile + ".signing" }
    private let message = Data("manifest\nsecrets/a.age\n".utf8)

    /// The identity's signing key, opened as stock age opens it (`coffer age
    /// decrypt` for a protected identity), written 0600 for ssh-keygen.
    private func exportSigningKey(as name: String, passphraseFile: String? = nil) throws -> String {
        let out = path(name)
        if let passphraseFile {
            try cofOK(["age", "decrypt", "-i", identityFile, "--passphrase-file", passphraseFile, "-o", out, signingFile], clean: false)
        } else {
            let decrypted = try ageDecrypt(signingFile)
            XCTAssertEqual(decrypted.status, 0, decrypted.stderrText)
            try decrypted.stdout.write(to: URL(fileURLWithPath: out))
        }
        XCTAssertEqual(chmod(out, 0o600), 0)
        return out
    }

    private func sshKeygen(_ arguments: [String], stdin: Data? = nil) throws -> CommandResult {
        let tool = try requireTool("ssh-keygen")
        return try run(tool, arguments, stdin: stdin, environment: vaultEnvironment())
    }

    /// `ssh-keygen -Y verify -f .signers -I NAME -n coffer-bundle` on `message` and the signature in `sig`.
    private func verify(_ sig: String, as name: String) throws -> CommandResult {
        try sshKeygen(["-Y", "verify", "-f", vaultDir + "/.signers", "-I", name, "-n", "coffer-bundle", "-s", sig], stdin: message)
    }

    /// Signs `message` with the key file: once with stock ssh-keygen, once with SSHSig.
    private func sign(with keyFile: String, as name: String) throws -> (sshKeygen: String, ours: String) {
        let input = try write(name + ".msg", message)
        let signed = try sshKeygen(["-Y", "sign", "-f", keyFile, "-n", "coffer-bundle", input])
        XCTAssertEqual(signed.status, 0, signed.stderrText)
        let key = try SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: Array(try Data(contentsOf: URL(fileURLWithPath: keyFile)))))
        let ours = try write(name + ".ours.sig", try key.sign(Array(message), namespace: "coffer-bundle"))
        return (input + ".sig", ours)
    }

    private func changedFiles() throws -> String {
        try gitOK(["show", "--name-only", "--format=", "HEAD"]).stdoutText.trimmingCharacters(in: .newlines)
    }

    private func signersLines() throws -> [String] {
        String(decoding: try read("vault/.signers"), as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    func testInitNamesTheCreatorAndSshKeygenTrustsItsKey() throws {
        try initVault(name: "alice")
        let line = try signingKeyLine()
        XCTAssertTrue(line.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI") && line.hasSuffix(" coffer:alice"), line)
        let key = try SSHEd25519PublicKey(parsingAuthorizedKey: line)
        XCTAssertEqual(try signersLines(), ["alice \(key.authorizedKey)"])
        XCTAssertTrue(try gitOK(["ls-files"]).stdoutText.contains(".signers\n"))
        XCTAssertEqual(try mode("home/.config/coffer/identity.signing"), 0o600)
        XCTAssertEqual(try read("home/.config/coffer/identity.signing").ageStanzaTypes(), ["X25519"], "sealed to the identity's key only")

        let keyFile = try exportSigningKey(as: "alice.key")
        XCTAssertEqual(try sshKeygen(["-y", "-f", keyFile]).stdoutText, key.authorizedKey + " coffer signing key\n")
        let signed = try sign(with: keyFile, as: "alice")
        for sig in [signed.sshKeygen, signed.ours] {
            let verified = try verify(sig, as: "alice")
            XCTAssertEqual(verified.status, 0, "\(verified.stdoutText) \(verified.stderrText)")
            XCTAssertTrue(verified.stdoutText.contains("Good \"coffer-bundle\" signature for alice with ED25519 key \(key.fingerprint)"),
                          verified.stdoutText)
            XCTAssertNotEqual(try verify(sig, as: "bob").status, 0, "only the principal .signers names")
        }
        XCTAssertEqual(try cofOK(["signers", "list", "-o", "json"]).stdoutText,
                       "{\"signers\":[{\"name\":\"alice\",\"key\":\"\(key.authorizedKey)\",\"fingerprint\":\"\(key.fingerprint)\",\"options\":\"\",\"trusted\":\"yes\"}]}\n")
        let table = try cofOK(["signers", "list"]).stdoutText.split(separator: "\n")
        XCTAssertEqual(table.count, 2)
        XCTAssertTrue(table[0].hasPrefix("NAME") && table[1].hasPrefix("alice"), "\(table)")
    }

    func testAddAndRmAreOneCommitEach() throws {
        try initVault(name: "alice")
        let bobFile = path("bob")
        let made = try sshKeygen(["-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f", bobFile])
        XCTAssertEqual(made.status, 0, made.stderrText)
        let bobLine = String(decoding: try read("bob.pub"), as: UTF8.self).trimmingCharacters(in: .newlines)
        let bob = try SSHEd25519PublicKey(parsingAuthorizedKey: bobLine)
        let count = try commitCount()

        let added = try cofOK(["signers", "add", bobLine, "--name", "bob"])
        XCTAssertEqual(added.stderrText, "added bob (\(bob.fingerprint)) to .signers\n")
        XCTAssertEqual(try commitCount(), count + 1)
        XCTAssertEqual(try changedFiles(), ".signers")
        XCTAssertEqual(try gitOK(["log", "-1", "--format=%s"]).stdoutText, "coffer: signers-add bob \(bob.fingerprint)\n")
        XCTAssertEqual(try signersLines().last, "bob \(bob.authorizedKey)")
        // bob's own key now verifies as bob against .signers.
        let signed = try sign(with: bobFile, as: "bob")
        XCTAssertEqual(try verify(signed.sshKeygen, as: "bob").status, 0)
        XCTAssertNotEqual(try verify(signed.sshKeygen, as: "alice").status, 0)

        // The key as separate words works too; the same again is refused, with no commit.
        let again = try cof(["signers", "add", "ssh-ed25519", String(bobLine.split(separator: " ")[1]), "--name", "bob"])
        assertCofferError(again)
        XCTAssertTrue(again.stderrText.contains("\"bob\" is already a signer"), again.stderrText)
        XCTAssertEqual(try commitCount(), count + 1)

        try cofOK(["signers", "rm", "bob"])
        XCTAssertEqual(try commitCount(), count + 2)
        XCTAssertEqual(try changedFiles(), ".signers")
        XCTAssertEqual(try signersLines().count, 1)
        XCTAssertNotEqual(try verify(signed.sshKeygen, as: "bob").status, 0, "bob is no longer trusted")

        let missing = try cof(["signers", "rm", "bob"])
        assertCofferError(missing)
        XCTAssertEqual(missing.stderrText, "coffer: error: \"bob\" is not in .signers\ncoffer: hint: see `coffer signers list`\n")
        let last = try cof(["signers", "rm", try signingKeyLine()])
        assertCofferError(last)
        XCTAssertTrue(last.stderrText.contains("is the only signer"), last.stderrText)
        for (arguments, message) in [
            (["signers", "add", bobLine, "--name", "a,b"], "principal \"a,b\" cannot be used"),
            (["signers", "add", "ssh-rsa AAAAB3NzaC1yc2E", "--name", "x"], "\"ssh-rsa\" keys are not supported"),
            (["signers", "add", "not a key", "--name", "x"], "not an ssh-ed25519 public key"),
        ] {
            let refused = try cof(arguments)
            assertCofferError(refused)
            XCTAssertTrue(refused.stderrText.contains(message), refused.stderrText)
        }
        XCTAssertEqual(try commitCount(), count + 2)

        // A hand edit not committed is refused, naming the file.
        try write("vault/.signers", String(decoding: try read("vault/.signers"), as: UTF8.self) + "mallory \(bob.authorizedKey)\n")
        let edited = try cof(["signers", "list"], clean: false)
        assertCofferError(edited)
        XCTAssertTrue(edited.stderrText.contains(".signers has changes that are not committed"), edited.stderrText)
        try gitOK(["checkout", "--", ".signers"])
    }

    func testIdentityRotateReplacesTheSigningKeyInSigners() throws {
        try initVault(name: "alice")
        try cofOK(["set", "a=1"])
        let oldLine = try signingKeyLine()
        let oldSig = try sign(with: try exportSigningKey(as: "old.key"), as: "old")
        XCTAssertEqual(try verify(oldSig.ours, as: "alice").status, 0)
        let count = try commitCount()

        let rotated = try cofOK(["identity", "rotate"])
        let newLine = try signingKeyLine()
        XCTAssertNotEqual(newLine, oldLine)
        let new = try SSHEd25519PublicKey(parsingAuthorizedKey: newLine)
        XCTAssertTrue(rotated.stderrText.contains("new signing key \(new.fingerprint) in .signers for alice"), rotated.stderrText)
        XCTAssertEqual(try commitCount(), count + 1)
        XCTAssertEqual(try changedFiles(), ".recipients\n.signers\na.age")
        let lines = try signersLines()
        XCTAssertEqual(lines.first, "alice \(new.authorizedKey)", "the new key in")
        XCTAssertEqual(lines.count, 2, "\(lines)")
        // The old key stays for stock git's commit checks only, until the rotation.
        XCTAssertTrue(lines.last?.hasPrefix("alice namespaces=\"git\",valid-before=\"") == true, "\(lines)")
        XCTAssertTrue(lines.last?.hasSuffix(oldLine.split(separator: " ").prefix(2).joined(separator: " ") + " retired by coffer identity rotate") == true,
                      "\(lines) \(oldLine)")
        XCTAssertTrue(try gitOK(["log", "-1", "--format=%B"]).stdoutText.contains("Coffer-Signer-Rotated: alice "))

        XCTAssertNotEqual(try verify(oldSig.ours, as: "alice").status, 0, "the old key is no longer trusted")
        let newSig = try sign(with: try exportSigningKey(as: "new.key"), as: "new")
        XCTAssertEqual(try verify(newSig.sshKeygen, as: "alice").status, 0)
        XCTAssertEqual(try verify(newSig.ours, as: "alice").status, 0)
        XCTAssertEqual(try reveal("a"), Data("1".utf8))
    }

    /// The signing key opens only through the identity: with a passphrase,
    /// nothing signs without it, and no private key byte reaches any output
    /// or git object.
    func testAProtectedIdentityNeedsItsPassphraseToSign() throws {
        let pw = try write("pw", "signing passphrase 1\n")
        try cofOK(["identity", "new", "--protect", "--name", "carol", "--passphrase-file", pw])
        try cofOK(["init", vaultDir, "--name", "carol", "--passphrase-file", pw])
        XCTAssertEqual(try mode("home/.config/coffer/identity.signing"), 0o600)
        XCTAssertEqual(try read("home/.config/coffer/identity.signing").ageStanzaTypes(), ["X25519"])
        // The public line needs no passphrase; the private key does.
        let line = try signingKeyLine()
        XCTAssertTrue(line.hasSuffix(" coffer:carol"), line)
        assertCofferError(try cof(["age", "decrypt", "-i", identityFile, "-o", path("nope.key"), signingFile], clean: false))
        XCTAssertFalse(fileExists(path("nope.key")))
        let keyFile = try exportSigningKey(as: "carol.key", passphraseFile: pw)
        let signed = try sign(with: keyFile, as: "carol")
        XCTAssertEqual(try verify(signed.ours, as: "carol").status, 0)
        // Rotating needs it too, and the rotated key is sealed the same way.
        assertCofferError(try cof(["identity", "rotate"]))
        try cofOK(["set", "s=1", "--passphrase-file", pw])
        try cofOK(["identity", "rotate", "--passphrase-file", pw])
        XCTAssertEqual(try mode("home/.config/coffer/identity.signing"), 0o600)
        let rotatedKey = try exportSigningKey(as: "rotated.key", passphraseFile: pw)
        XCTAssertEqual(try verify(try sign(with: rotatedKey, as: "rotated").ours, as: "carol").status, 0)

        // No private key's body anywhere: outputs, the vault's files, git objects.
        var needles: [(String, Data)] = []
        for file in [keyFile, rotatedKey] {
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
            let body = text.split(separator: "\n").filter { !$0.hasPrefix("-") && !$0.hasPrefix("#") }.joined()
            let blob = try XCTUnwrap(Data(base64Encoded: body))
            // The 32-byte seed: after magic, names, public key, length, checks, type, public key and the length of the secret.
            let start = 15 + 8 + 8 + 4 + 4 + 55 + 4 + 8 + 15 + 36 + 4
            let seed = Array(blob)[start..<(start + 32)]
            needles += [("\(file) base64", Data(body.prefix(120).suffix(60).utf8)), ("\(file) seed", Data(seed))]
        }
        var places: [(String, Data)] = cofferResults.flatMap { [("stdout of \($0.command)", $0.stdout), ("stderr of \($0.command)", $0.stderr)] }
        places.append(("git objects", try gitOK(["cat-file", "--batch-all-objects", "--batch"]).stdout))
        for (name, bytes) in snapshot() where !name.hasSuffix("/") { places.append(("vault file \(name)", bytes)) }
        for (name, bytes) in snapshot(homeDir) where !name.hasSuffix("/") { places.append(("home file \(name)", bytes)) }
        let leaks = places.flatMap { place in needles.filter { place.1.range(of: $0.1) != nil }.map { "\($0.0) in \(place.0)" } }
        XCTAssertEqual(leaks, [])
    }

    func testAPastedPrivateKeyIsNeverEchoed() throws {
        try initVault(name: "alice")
        let made = try sshKeygen(["-q", "-t", "ed25519", "-N", "", "-f", path("leak")])
        XCTAssertEqual(made.status, 0, made.stderrText)
        let secret = String(decoding: try read("leak"), as: UTF8.self)
        let body = String(secret.split(separator: "\n")[1])
        for arguments in [["signers", "add", secret, "--name", "x"], ["signers", "add", try signingKeyLine(), "--name", secret],
                          ["signers", "rm", secret], ["signers", "rm", body], ["init", body]] {
            let refused = try cof(arguments)
            XCTAssertEqual(refused.status, 64, "\(arguments.first!): \(refused.stderrText)")
            XCTAssertTrue(refused.stderrText.contains("looks like a secret key; it is not shown"), refused.stderrText)
            XCTAssertFalse(refused.stderrText.contains(String(body.dropFirst(20).prefix(30))), refused.stderrText)
            XCTAssertEqual(refused.stdoutText, "")
        }
    }
}
