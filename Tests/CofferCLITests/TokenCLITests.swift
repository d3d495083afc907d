import Foundation
import XCTest

/// `coffer token create | list | revoke`: the bearer tokens of a host's
/// `coffer serve`, printed once, kept as keyed hashes under .git/coffer.
final class TokenCLITests: VaultE2ECase {
    func testCreateListRevoke() throws {
        try initVault()
        let commits = try commitCount()
        let made = try cofOK(["token", "create", "--scope", "dev/", "--scope", "ops/ci", "--reveal", "--ttl", "30d", "--name", "deploy"])
        let token = made.stdoutText.trimmingCharacters(in: .newlines)
        XCTAssertNotNil(token.range(of: "^cft_[0-9a-f]{64}$", options: .regularExpression), token)
        XCTAssertTrue(made.stderrText.contains("made token deploy (read,reveal on dev/, ops/ci, until "), made.stderrText)
        XCTAssertTrue(made.stderrText.contains("shown only this once"))
        XCTAssertFalse(made.stderrText.contains(token))
        XCTAssertTrue(made.stderrText.contains("coffer: warning: no ids are under dev/ yet"), made.stderrText)
        try cofOK(["token", "create", "--scope", "/", "--write"])

        let listed = try cofOK(["token", "list"]).stdoutText
        XCTAssertTrue(listed.contains("deploy   dev/,ops/ci  read,reveal"), listed)
        XCTAssertTrue(listed.contains("token-1  /            read,write "), listed)
        let json = try JSONSerialization.jsonObject(with: try cofOK(["token", "list", "-o", "json"]).stdout) as! [String: Any]
        let tokens = json["tokens"] as! [[String: Any]]
        XCTAssertEqual(tokens.map { $0["name"] as? String }, ["deploy", "token-1"])
        XCTAssertEqual(tokens[0]["rights"] as? [String], ["read", "reveal"])
        XCTAssertEqual(tokens[0]["state"] as? String, "active")
        XCTAssertTrue(tokens[1]["expires"] is NSNull)

        // The token is nowhere: not in .git (objects, coffer files), not in the work tree, not committed.
        XCTAssertEqual(try commitCount(), commits, "tokens are never committed")
        let secret = Data(token.dropFirst(4).utf8)
        let everything = FileManager.default.enumerator(atPath: vaultDir)!
        while let name = everything.nextObject() as? String {
            let full = vaultDir + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            XCTAssertNil(try Data(contentsOf: URL(fileURLWithPath: full)).range(of: secret), "\(name) holds the token")
        }
        XCTAssertEqual(try gitOK(["status", "--porcelain"]).stdoutText, "")

        try cofOK(["token", "revoke", "deploy"])
        // Made and revoked, in the audit log: names and prefixes, never the token.
        let audit = try cofOK(["audit", "-o", "json"]).stdoutText
        XCTAssertTrue(audit.contains("token-create:deploy") && audit.contains("token-revoke:deploy"), audit)
        XCTAssertTrue(audit.contains("\"action\":\"token-create:deploy\",\"ids\":[\"dev/\",\"ops/ci\"]"), audit)
        XCTAssertFalse(audit.contains(String(token.dropFirst(4))))
        XCTAssertFalse(try cofOK(["token", "list"]).stdoutText.contains("deploy"))
        let again = try cof(["token", "revoke", "deploy"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderrText.contains("no token named \"deploy\""), again.stderrText)
        // The token itself pasted where its name belongs is never echoed.
        let pasted = try cof(["token", "revoke", token])
        XCTAssertNotEqual(pasted.status, 0)
        XCTAssertFalse(pasted.stderrText.contains(String(token.dropFirst(4).prefix(32))), pasted.stderrText)
    }

    func testCreateRefusesWhatItCannotKeep() throws {
        try initVault()
        for (arguments, message) in [
            (["token", "create"], "give at least one --scope PREFIX"),
            (["token", "create", "--scope", "/", "--read", "--write"], "--read and --write exclude each other"),
            (["token", "create", "--scope", "/", "--ttl", "soon"], "--ttl takes seconds"),
            (["token", "create", "--scope", "/", "--ttl", "0"], "--ttl takes seconds"),
            (["token", "create", "--scope", "/", "--ttl", "+5"], "--ttl takes seconds"),
            (["token", "create", "--scope", ""], "--scope needs a prefix"),
            (["token", "create", "--scope", "//"], "--scope needs a prefix"),
            (["token", "create", "--scope", "cft_" + String(repeating: "ab", count: 32)], "looks like a secret key"),
            (["token", "create", "--scope", "../x"], "invalid secret id"),
            (["token", "create", "--scope", "/", "--name", "a b"], "invalid token name"),
        ] {
            let result = try cof(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderrText.contains(message), "\(arguments): \(result.stderrText)")
            XCTAssertTrue(result.stdout.isEmpty, "no token printed for \(arguments)")
        }
        XCTAssertEqual(try cofOK(["token", "list", "-o", "json"]).stdoutText, "{\"tokens\":[]}\n")
    }
}
