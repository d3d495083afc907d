import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Happy paths of every vault command against a temporary vault and identity,
/// minimal diffs, and agreement with the stock `git` and `age` CLIs.
final class VaultCommandTests: VaultE2ECase {
    // MARK: init

    func testInitCreatesRepositoryRecipientsAndFirstCommit() throws {
        XCTAssertFalse(fileExists(identityFile))
        let initialised = try cofOK(["init", vaultDir, "--name", "alice"])
        XCTAssertTrue(initialised.stdout.isEmpty, "init prints to stderr only: \(initialised.stdoutText)")

        // The identity: created 0600 in a 0700 directory, outside the vault.
        XCTAssertTrue(fileExists(identityFile), "init creates an identity when there is none")
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)
        XCTAssertEqual(try mode("home/.config/coffer"), 0o700)
        let key = try publicKey()
        XCTAssertTrue(key.hasPrefix("age1"), key)
        let identityText = String(decoding: try Data(contentsOf: URL(fileURLWithPath: identityFile)), as: UTF8.self)
        XCTAssertEqual(identityText.split(separator: "\n").filter { $0.hasPrefix("AGE-SECRET-KEY-1") }.count, 1,
                       "the identity is an age identity file")
        XCTAssertTrue(initialised.stderrText.contains(key), "init tells the public key: \(initialised.stderrText)")

        // The vault: a git repository with .recipients naming the key, one commit.
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: vaultDir + "/.git", isDirectory: &isDirectory) && isDirectory.boolValue)
        let recipients = String(decoding: try read("vault/.recipients"), as: UTF8.self)
        let keys = recipients.split(separator: "\n").map { $0.split(separator: "#")[0].trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        XCTAssertEqual(keys, [key], ".recipients: \(recipients)")
        XCTAssertTrue(recipients.contains("alice"), "the reader's name is recorded: \(recipients)")
        XCTAssertFalse(recipients.contains("AGE-SECRET-KEY"), "no private key in the vault")
        XCTAssertEqual(try commitCount(), 1)
        XCTAssertEqual(try gitOK(["ls-files"]).stdoutText.split(separator: "\n").contains(".recipients"), true)
        XCTAssertEqual(try gitOK(["show", "HEAD:.recipients"]).stdoutText, recipients, ".recipients is committed")
        XCTAssertFalse(snapshot().keys.contains { $0.hasSuffix(".age") })

        // init again: refused, nothing changes.
        let before = snapshot()
        let identityBefore = try Data(contentsOf: URL(fileURLWithPath: identityFile))
        assertCofferError(try cof(["init", vaultDir]))
        assertSameSnapshot(before, snapshot(), "a second init")

        // A second vault with the existing identity: the identity is kept and named.
        try cofOK(["init", path("second")])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: identityFile)), identityBefore, "init never replaces an identity")
        XCTAssertTrue(String(decoding: try read("second/.recipients"), as: UTF8.self).hasPrefix(key))
        try assertVaultClean(in: path("second"), after: "init second")
    }

    func testVaultIsFoundFromTheWorkingDirectoryAndBySelection() throws {
        try initVault()
        try cofOK(["set", "prod/db/password=found-by-cwd"])
        // From a subdirectory, without COFFER_VAULT: the enclosing vault.
        let fromSubdirectory = try cof(inDirectory: vaultDir + "/prod/db", ["get", "prod/db/password", "--reveal"],
                                       env: ["COFFER_VAULT": ""])
        XCTAssertEqual(fromSubdirectory.status, 0, fromSubdirectory.stderrText)
        XCTAssertEqual(fromSubdirectory.stdoutText, "found-by-cwd")
        // --vault beats COFFER_VAULT.
        try initVaultElsewhere("other")
        let explicit = try cof(["get", "prod/db/password", "--vault", path("other")])
        assertCofferError(explicit)
        XCTAssertTrue(explicit.stderrText.contains("prod/db/password"), explicit.stderrText)
    }

    private func initVaultElsewhere(_ name: String) throws {
        try cofOK(["init", path(name)])
    }

    // MARK: identity

    func testIdentityNewShowPasswdAndImport() throws {
        let missing = try cof(["identity", "show"])
        assertCofferError(missing)
        XCTAssertTrue(missing.stderrText.contains(identityFile), missing.stderrText)

        let created = try cofOK(["identity", "new", "--name", "bob"])
        let key = created.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(key.hasPrefix("age1"), "identity new prints the public key: \(created.stdoutText)")
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)
        XCTAssertEqual(try mode("home/.config/coffer"), 0o700)
        XCTAssertEqual(try publicKey(), key)
        let plainIdentity = try Data(contentsOf: URL(fileURLWithPath: identityFile))
        let secretLine = String(decoding: plainIdentity, as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init)
        XCTAssertNotNil(secretLine, "the identity is an age identity file")
        if Tools.which("age-keygen") != nil || Tools.isCI {
            let derived = try succeed(try requireTool("age-keygen"), ["-y", identityFile])
            XCTAssertEqual(derived.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), key, "age-keygen -y agrees")
        }
        XCTAssertFalse(created.stdoutText.contains("AGE-SECRET-KEY") || created.stderrText.contains("AGE-SECRET-KEY"))

        // identity new never replaces an identity.
        assertCofferError(try cof(["identity", "new"]), secrets: [secretLine ?? ""])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: identityFile)), plainIdentity)

        // passwd: set a passphrase.
        let pw1 = try write("pw1", "first passphrase 1\n")
        let pw2 = try write("pw2", "second passphrase 2\n")
        try cofOK(["identity", "passwd", "--new-passphrase-file", pw1])
        let sealedIdentity = try Data(contentsOf: URL(fileURLWithPath: identityFile))
        XCTAssertNil(sealedIdentity.range(of: Data("AGE-SECRET-KEY".utf8)), "a protected identity holds no clear key")
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)
        // show needs no passphrase (identity.pub); unlocking the key does.
        XCTAssertEqual(try cofOK(["identity", "show"]).stdoutText.ageLines, key)
        let noPassphrase = try cof(["identity", "passwd", "--remove"])
        assertCofferError(noPassphrase, secrets: [secretLine ?? ""])
        let wrong = try cof(["identity", "passwd", "--remove", "--passphrase-file", pw2])
        assertCofferError(wrong, secrets: [secretLine ?? ""])
        XCTAssertTrue(wrong.stderrText.hasPrefix("coffer: error: wrong passphrase for identity file \(identityFile)\n"),
                      "a wrong passphrase for the identity should be reported as such, not as a key mismatch: \(wrong.stderrText)")
        XCTAssertEqual(try cofOK(["identity", "show", "--passphrase-file", pw1]).stdoutText.ageLines, key)

        // The protected identity works for vault commands with --passphrase-file.
        try cofOK(["init", vaultDir, "--passphrase-file", pw1])
        try cofOK(["set", "k=protected-value", "--passphrase-file", pw1])
        XCTAssertEqual(try cofOK(["get", "k", "--reveal", "--passphrase-file", pw1]).stdoutText, "protected-value")
        assertCofferError(try cof(["get", "k", "--reveal"]), plaintext: Data("protected-value".utf8))

        // passwd: change it.
        try cofOK(["identity", "passwd", "--passphrase-file", pw1, "--new-passphrase-file", pw2])
        let old = try cof(["get", "k", "--reveal", "--passphrase-file", pw1])
        assertCofferError(old, plaintext: Data("protected-value".utf8))
        XCTAssertTrue(old.stderrText.hasPrefix("coffer: error: wrong passphrase for identity file"), old.stderrText)
        XCTAssertEqual(try cofOK(["identity", "show", "--passphrase-file", pw2]).stdoutText.ageLines, key)
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)

        // passwd --remove: back to a plain identity file, same key.
        try cofOK(["identity", "passwd", "--passphrase-file", pw2, "--remove"])
        let unprotected = String(decoding: try Data(contentsOf: URL(fileURLWithPath: identityFile)), as: UTF8.self)
        XCTAssertEqual(unprotected.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init), secretLine)
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)
        XCTAssertEqual(try publicKey(), key)
        XCTAssertEqual(try reveal("k"), Data("protected-value".utf8))
    }

    func testIdentityImportTakesAnAgeKeygenFile() throws {
        let imported = try ageKeygen("keygen.txt")
        let result = try cofOK(["identity", "import", imported.identityFile, "--name", "ci"])
        XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), imported.recipient)
        XCTAssertEqual(try mode("home/.config/coffer/identity"), 0o600)
        XCTAssertEqual(try mode("home/.config/coffer"), 0o700)
        XCTAssertEqual(try publicKey(), imported.recipient)
        let stored = String(decoding: try Data(contentsOf: URL(fileURLWithPath: identityFile)), as: UTF8.self)
        XCTAssertTrue(stored.split(separator: "\n").contains { $0 == imported.secret }, "the same secret key is stored")
        assertNoLeak(result, plaintext: nil, secrets: [imported.secret])
        XCTAssertFalse(result.stdoutText.uppercased().contains(String(imported.secret.dropFirst(16))))

        // Import refuses to replace an identity.
        let other = try ageKeygen("other.txt")
        assertCofferError(try cof(["identity", "import", other.identityFile]), secrets: [other.secret, imported.secret])
        XCTAssertEqual(try publicKey(), imported.recipient)

        // The imported key reads what the vault seals, and stock age agrees.
        try initVault()
        XCTAssertTrue(String(decoding: try read("vault/.recipients"), as: UTF8.self).hasPrefix(imported.recipient))
        try cofOK(["set", "deploy/token=imported-key-value"])
        XCTAssertEqual(try ageDecrypt(sealedPath("deploy/token"), identity: imported.identityFile).stdoutText, "imported-key-value")
    }

    // MARK: set, get, list

    func testSetSeveralValuesIsOneCommitAndGetShowsThem() throws {
        try initVault()
        let values: [(String, String)] = [
            ("api", "plain-api-key-123"),
            ("prod/db/password", "s3cr3t p@ss wörd"),
            ("prod/api", "prod-api"),
            ("production/y", "production-y"),
            ("with/equals", "a=b=c"),
            ("empty", ""),
        ]
        let before = try commitCount()
        try cofOK(["set"] + values.map { "\($0.0)=\($0.1)" })
        XCTAssertEqual(try commitCount(), before + 1, "several ID=VALUE in one invocation make exactly one commit")
        XCTAssertEqual(try headChanges(), values.map { "A \($0.0).age" }.sorted())

        for (id, value) in values {
            XCTAssertTrue(fileExists(sealedPath(id)), "\(id).age")
            let masked = try cofOK(["get", id])
            XCTAssertEqual(masked.stdoutText, "\(id)  ******** (\(value.utf8.count) bytes)\n")
            XCTAssertEqual(try reveal(id), Data(value.utf8), "get --reveal \(id)")

            let json = try cofOK(["get", id, "-o", "json"])
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any], json.stdoutText)
            XCTAssertEqual(object["id"] as? String, id)
            XCTAssertEqual(object["bytes"] as? Int, value.utf8.count)
            XCTAssertNil(object["value"], "no value in -o json without --reveal")
            let revealed = try cofOK(["get", id, "-o", "json", "--reveal"])
            let full = try XCTUnwrap(try JSONSerialization.jsonObject(with: revealed.stdout) as? [String: Any])
            XCTAssertEqual(full["value"] as? String, value)
        }
    }

    func testListFormatsAndPrefixes() throws {
        try initVault()
        try cofOK(["set", "prod/x=1", "prod/db/password=2", "production/y=3", "prod=4", "dev/x=5", "top=6"])
        XCTAssertEqual(try cofOK(["list"]).stdoutText,
                       "ID\ndev/x\nprod\nprod/db/password\nprod/x\nproduction/y\ntop\n")
        for prefix in ["prod", "prod/"] {
            XCTAssertEqual(try cofOK(["list", prefix]).stdoutText, "ID\nprod\nprod/db/password\nprod/x\n",
                           "`\(prefix)` matches whole segments only (not production/y)")
        }
        XCTAssertEqual(try cofOK(["list", "prod/db"]).stdoutText, "ID\nprod/db/password\n")
        XCTAssertEqual(try cofOK(["list", "production"]).stdoutText, "ID\nproduction/y\n")
        XCTAssertEqual(try cofOK(["list", "pro"]).stdoutText, "", "a partial segment matches nothing")
        XCTAssertEqual(try cofOK(["list", "-o", "table", "dev"]).stdoutText, "ID\ndev/x\n")

        let json = try cofOK(["list", "prod", "-o", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any], json.stdoutText)
        let rows = try XCTUnwrap(object["secrets"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["id"] as? String }, ["prod", "prod/db/password", "prod/x"])
        XCTAssertTrue(rows.allSatisfy { $0["value"] == nil }, "list never shows values by default")

        XCTAssertEqual(try cofOK(["list", "prod", "-o", "yaml"]).stdoutText,
                       "secrets:\n- id: \"prod\"\n- id: \"prod/db/password\"\n- id: \"prod/x\"\n")
        XCTAssertEqual(try cofOK(["list", "nothing", "-o", "yaml"]).stdoutText, "secrets: []\n")
        let emptyJSON = try cofOK(["list", "nothing", "-o", "json"])
        let empty = try XCTUnwrap(try JSONSerialization.jsonObject(with: emptyJSON.stdout) as? [String: Any])
        XCTAssertEqual((empty["secrets"] as? [Any])?.count, 0)

        // --show-values --yes: the values, for scripts.
        let shown = try cofOK(["list", "prod", "--show-values", "--yes", "-o", "json"])
        let shownRows = try XCTUnwrap((try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any])?["secrets"] as? [[String: Any]])
        XCTAssertEqual(shownRows.compactMap { $0["value"] as? String }, ["4", "2", "1"])
    }

    func testSetFromStdinAndFileKeepsExactBytes() throws {
        try initVault()
        // Binary, with NUL, CR LF, invalid UTF-8 and a trailing newline.
        let binary = Data([0x00, 0xFF, 0x0D, 0x0A, 0xC3, 0x28]) + randomBytes(300) + Data("\n".utf8)
        try cofOK(["set", "bin/stdin", "--stdin"], stdin: binary)
        XCTAssertTrue(try reveal("bin/stdin") == binary, "--stdin keeps every byte, the trailing newline included")
        XCTAssertEqual(try cofOK(["get", "bin/stdin"]).stdoutText, "bin/stdin  ******** (\(binary.count) bytes)\n")
        let json = try cofOK(["get", "bin/stdin", "-o", "json", "--reveal"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any], json.stdoutText)
        let base64 = try XCTUnwrap((object["value"] as? [String: Any])?["base64"] as? String, "binary values come as base64")
        XCTAssertEqual(Data(base64Encoded: base64), binary)

        let text = Data("line one\nline two\n\n".utf8)
        try cofOK(["set", "text/stdin", "--stdin"], stdin: text)
        XCTAssertEqual(try reveal("text/stdin"), text)

        let fileValue = randomBytes(70_000) + Data("\r\n".utf8)
        let valueFile = try write("value.bin", fileValue)
        try cofOK(["set", "bin/file", "--file", valueFile])
        XCTAssertTrue(try reveal("bin/file") == fileValue, "--file keeps every byte")

        try cofOK(["set", "empty/stdin", "--stdin"], stdin: Data())
        XCTAssertEqual(try cofOK(["get", "empty/stdin"]).stdoutText, "empty/stdin  ******** (0 bytes)\n")
        XCTAssertEqual(try reveal("empty/stdin"), Data())
    }

    func testSetPromptsWithoutEchoOnATerminal() throws {
        try initVault()
        let value = canary("typed")
        let result = try runOnTerminal([coffer, "set", "tty/secret"], prompt: "(Value for [^\\r\\n]*|Value again):", answer: value, maxAnswers: 2)
        XCTAssertEqual(result.status, 0, "terminal showed: \(result.stdoutText) \(result.stderrText)")
        XCTAssertTrue(result.stdoutText.contains("Value for tty/secret:"), "terminal showed: \(result.stdoutText)")
        XCTAssertFalse(result.stdoutText.contains(value), "the typed value was echoed")
        XCTAssertEqual(try reveal("tty/secret"), Data(value.utf8), "the typed line, without its line ending")
        try assertVaultClean(after: "set on a terminal")
    }

    func testRevealOnATerminalAsksFirst() throws {
        try initVault()
        let value = canary("reveal")
        try cofOK(["set", "r=\(value)"])
        let confirmPrompt = "\\[y/N\\]"
        let declined = try runOnTerminal([coffer, "get", "r", "--reveal"], prompt: confirmPrompt, answer: "n", maxAnswers: 1)
        XCTAssertEqual(declined.status, 1, "terminal showed: \(declined.stdoutText)")
        XCTAssertFalse(declined.stdoutText.contains(value), "declined, yet the value was shown")
        XCTAssertTrue(declined.stdoutText.contains("coffer: error: "), declined.stdoutText)

        let accepted = try runOnTerminal([coffer, "get", "r", "--reveal"], prompt: confirmPrompt, answer: "y", maxAnswers: 1)
        XCTAssertEqual(accepted.status, 0, "terminal showed: \(accepted.stdoutText)")
        XCTAssertTrue(accepted.stdoutText.contains(value))

        let yes = try runOnTerminal([coffer, "get", "r", "--reveal", "--yes"], prompt: confirmPrompt, answer: "n", maxAnswers: 0)
        XCTAssertEqual(yes.status, 0, "--yes must not ask; terminal showed: \(yes.stdoutText)")
        XCTAssertTrue(yes.stdoutText.contains(value))

        let masked = try runOnTerminal([coffer, "get", "r"], prompt: confirmPrompt, answer: "y", maxAnswers: 0)
        XCTAssertEqual(masked.status, 0, masked.stdoutText)
        XCTAssertFalse(masked.stdoutText.contains(value))
    }

    // MARK: rm, mv

    func testRmDeletesInOneCommitAndHistoryKeepsIt() throws {
        try initVault()
        try cofOK(["set", "a=value-a", "b=value-b", "deep/nested/c=value-c", "keep=value-keep"])
        let before = try commitCount()
        try cofOK(["rm", "a", "deep/nested/c"])
        XCTAssertEqual(try commitCount(), before + 1, "rm of two ids is one commit")
        XCTAssertEqual(try headChanges(), ["D a.age", "D deep/nested/c.age"])
        XCTAssertFalse(fileExists(sealedPath("a")))
        XCTAssertFalse(fileExists(sealedPath("deep/nested/c")))
        XCTAssertFalse(fileExists(vaultDir + "/deep"), "empty directories go with their last secret")
        XCTAssertEqual(try cofOK(["list"]).stdoutText, listTable(["b", "keep"]))
        assertCofferError(try cof(["get", "a"]))

        // History keeps it: the old sealed file is in HEAD~1 and still opens.
        let old = try gitOK(["show", "HEAD~1:a.age"]).stdout
        XCTAssertEqual(binding(of: old)?.first, "a")
        if Tools.which("age") != nil || Tools.isCI {
            let age = try requireTool("age")
            let opened = try run(age, ["-d", "-i", identityFile], stdin: old, environment: vaultEnvironment())
            XCTAssertEqual(opened.status, 0, opened.stderrText)
            XCTAssertEqual(opened.stdoutText, "value-a")
        }
        XCTAssertEqual(try reveal("keep"), Data("value-keep".utf8))
    }

    func testMvRebindsToTheNewIDInOneCommit() throws {
        try initVault()
        try cofOK(["set", "old/name=moving-value", "other=x"])
        let oldSealed = try sealed("old/name")
        XCTAssertEqual(binding(of: oldSealed)?.first, "old/name")
        let before = try commitCount()

        try cofOK(["mv", "old/name", "new/place/name"])
        XCTAssertEqual(try commitCount(), before + 1, "mv is one commit")
        XCTAssertEqual(try headChanges(), ["A new/place/name.age", "D old/name.age"])
        XCTAssertFalse(fileExists(sealedPath("old/name")))
        XCTAssertFalse(fileExists(vaultDir + "/old"))
        XCTAssertEqual(try reveal("new/place/name"), Data("moving-value".utf8))
        let moved = try sealed("new/place/name")
        XCTAssertEqual(binding(of: moved)?.first, "new/place/name", "the moved file is re-bound to its new id")
        XCTAssertEqual(binding(of: moved)?.dropFirst().count, 1, "one reader fingerprint")
        XCTAssertNotEqual(moved, oldSealed)
        assertCofferError(try cof(["get", "old/name"]))
        XCTAssertEqual(try cofOK(["list"]).stdoutText, listTable(["new/place/name", "other"]))

        // A simple rename in the same directory, back and forth.
        try cofOK(["mv", "other", "other2"])
        try cofOK(["mv", "other2", "other"])
        XCTAssertEqual(try reveal("other"), Data("x".utf8))
        XCTAssertEqual(binding(of: try sealed("other"))?.first, "other")
    }

    // MARK: minimal diffs

    func testSettingTheSameValueWritesNothing() throws {
        try initVault()
        let binary = randomBytes(200) + Data("\n".utf8)
        try cofOK(["set", "same=unchanged-value", "other=1"])
        try cofOK(["set", "bin", "--stdin"], stdin: binary)
        let head = try self.head()
        let sealedSame = try sealed("same")
        let sealedBin = try sealed("bin")
        let before = snapshot()

        try cofOK(["set", "same=unchanged-value"])
        try cofOK(["set", "same", "--stdin"], stdin: Data("unchanged-value".utf8))
        try cofOK(["set", "same", "--file", try write("same.txt", "unchanged-value")])
        try cofOK(["set", "bin", "--stdin"], stdin: binary)
        try cofOK(["set", "same=unchanged-value", "other=1"])
        XCTAssertEqual(try self.head(), head, "a no-op set makes no commit")
        XCTAssertEqual(try sealed("same"), sealedSame, "a no-op set rewrites nothing")
        XCTAssertEqual(try sealed("bin"), sealedBin)
        assertSameSnapshot(before, snapshot(), "setting values they already have")

        // Mixed: only the changed file is written; still one commit.
        try cofOK(["set", "same=unchanged-value", "other=2"])
        XCTAssertEqual(try commitCount(), 4)
        XCTAssertEqual(try headChanges(), ["M other.age"])
        XCTAssertEqual(try sealed("same"), sealedSame)

        // A real change rewrites the file.
        try cofOK(["set", "same=changed-value"])
        XCTAssertNotEqual(try sealed("same"), sealedSame)
        XCTAssertEqual(try reveal("same"), Data("changed-value".utf8))
        // A value differing only by a trailing newline is a change too.
        try cofOK(["set", "same", "--stdin"], stdin: Data("changed-value\n".utf8))
        XCTAssertEqual(try reveal("same"), Data("changed-value\n".utf8))
        XCTAssertEqual(try commitCount(), 6)
    }

    // MARK: stock tools

    func testStockAgeAndGitAgreeWithTheVault() throws {
        let git = try requireTool("git")
        _ = try requireTool("age")
        try initVault()
        let values: [String: Data] = [
            "prod/db/password": Data("correct horse".utf8),
            "bin": Data([0, 1, 2, 0xFF, 0x0A]) + randomBytes(1000) + Data("\n".utf8),
            "big": randomBytes(200_000),
            "nl": Data("ends with newline\n".utf8),
        ]
        try cofOK(["set", "prod/db/password=correct horse"])
        for id in ["bin", "big", "nl"] { try cofOK(["set", id, "--stdin"], stdin: values[id]!) }
        try cofOK(["mv", "nl", "moved/nl"])
        try cofOK(["rm", "big"])
        try cofOK(["set", "big", "--stdin"], stdin: values["big"]!)
        let current: [String: Data] = values.reduce(into: [:]) { $0[$1.key == "nl" ? "moved/nl" : $1.key] = $1.value }

        for (id, value) in current {
            let decrypted = try ageDecrypt(sealedPath(id))
            XCTAssertEqual(decrypted.status, 0, "age -d \(id).age: \(decrypted.stderrText)")
            XCTAssertTrue(decrypted.stdout == value, "age -d \(id).age prints exactly the value")
            let types = try sealed(id).ageStanzaTypes()
            XCTAssertEqual(types.filter { $0 == "X25519" }.count, 1, "one X25519 stanza per reader: \(types)")
            XCTAssertTrue(try sealed(id).starts(with: Data("age-encryption.org/v1\n".utf8)), "\(id).age is an age v1 file")
        }

        // git reads, checks and clones it.
        let log = try gitOK(["log", "--format=%s"]).stdoutText.split(separator: "\n")
        XCTAssertEqual(log.count, 8, "one commit per command: \(log)")
        XCTAssertTrue(log.allSatisfy { $0.hasPrefix("coffer: ") }, "\(log)")
        let fsck = try gitOK(["fsck", "--full", "--strict"])
        XCTAssertEqual(fsck.status, 0, fsck.stderrText)
        XCTAssertTrue(try gitOK(["ls-files"]).stdoutText.split(separator: "\n").sorted()
                        == [".gitattributes", ".recipients", ".signers", "big.age", "bin.age", "moved/nl.age", "prod/db/password.age"])

        let clone = path("clone")
        let cloned = try run(git, ["clone", "--quiet", vaultDir, clone], environment: vaultEnvironment())
        XCTAssertEqual(cloned.status, 0, cloned.stderrText)
        try assertVaultClean(in: clone, after: "git clone")
        XCTAssertEqual(try self.head(in: clone), try self.head())
        for (id, value) in current {
            // --vault wins over COFFER_VAULT (which points at the original).
            XCTAssertTrue(try reveal(id, vault: clone) == value, "coffer reads \(id) from the clone")
            XCTAssertTrue(try cofOK(["get", id, "--reveal"], env: ["COFFER_VAULT": clone]).stdout == value)
        }
        XCTAssertEqual(try cofOK(["list", "--vault", clone]).stdoutText, try cofOK(["list"]).stdoutText)
        // Writes to the clone keep it an ordinary repository too.
        try cofOK(["set", "cloned/new=1", "--vault", clone])
        try assertVaultClean(in: clone, after: "set in the clone")
        XCTAssertEqual(try gitOK(["fsck", "--full"], in: clone).status, 0)
    }
}
