import Foundation
import XCTest

/// `coffer recipients add` re-wraps a scope's secrets for a new reader in one
/// commit: only that scope's files change, and only their headers.
final class RecipientsTests: VaultE2ECase {
    private func payload(_ file: Data) throws -> Data {
        let mac = try XCTUnwrap(file.range(of: Data("\n--- ".utf8)))
        let end = try XCTUnwrap(file[mac.upperBound...].firstIndex(of: 0x0A))
        return file[(end + 1)...]
    }

    func testAddingAReaderRewrapsOnlyItsScopeAndKeepsPayloads() throws {
        _ = try initVault()
        let bob = try cofferKeygen("bob")
        // A second scope with its own readers (just the owner), committed with git.
        try FileManager.default.createDirectory(atPath: vaultDir + "/dev", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: vaultDir + "/.recipients", toPath: vaultDir + "/dev/.recipients")
        try gitOK(["add", "dev/.recipients"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "dev scope"])
        try cofOK(["set", "prod/a=alpha", "prod/b=beta", "top=gamma", "dev/c=delta"])
        let before = try ["prod/a", "prod/b", "top", "dev/c"].map { try sealed($0) }
        let commits = try commitCount()

        let added = try cofOK(["recipients", "add", bob.recipient, "--name", "bob"])
        XCTAssertTrue(added.stderrText.contains("re-wrapped 3 secrets"), added.stderrText)
        XCTAssertEqual(try commitCount(), commits + 1, "one commit")
        let after = try ["prod/a", "prod/b", "top", "dev/c"].map { try sealed($0) }
        for index in 0..<3 {
            XCTAssertNotEqual(before[index], after[index], "the header changes")
            XCTAssertEqual(try payload(before[index]), try payload(after[index]), "the payload bytes stay")
        }
        XCTAssertEqual(before[3], after[3], "a deeper scope keeps its file")
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/a"), identity: bob.identityFile).stdoutText, "alpha")
        XCTAssertNotEqual(try ageDecrypt(sealedPath("dev/c"), identity: bob.identityFile).status, 0)
        XCTAssertTrue(try String(contentsOfFile: vaultDir + "/.recipients", encoding: .utf8).contains("\(bob.recipient) # bob"))
        let history = try XCTUnwrap(TableText(try cofOK(["history", "prod/a"]).stdoutText))
        XCTAssertEqual(history.rows.first?["ACTION"], "rewrap", "\(history)")
        XCTAssertEqual(history.rows.first?["CHANGE"], "wrapping", "\(history)")

        let list = try cofOK(["recipients", "list", "-o", "json"]).stdoutText
        XCTAssertTrue(list.contains(#""scope":"","secrets":3"#), list)
        XCTAssertTrue(list.contains(#""scope":"dev","secrets":1"#), list)
        // Adding the same reader again is refused and changes nothing.
        let again = try cof(["recipients", "add", bob.recipient])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(try commitCount(), commits + 1)
    }
}
