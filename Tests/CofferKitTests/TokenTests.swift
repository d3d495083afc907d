import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// `coffer serve`'s bearer tokens on this host (Tokens/): made, checked, revoked;
/// kept only as keyed hashes under `.git/coffer`.
final class TokenTests: VaultTestCase {
    private var gitCoffer: String { root + "/.git/coffer" }

    private func text(_ token: SecureBytes) -> String { token.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    private func authenticate(_ token: String, now: Int = UTCTime.now()) throws -> AccessToken? {
        try Array(token.utf8).withUnsafeBytes { try vault.authenticate(bearer: $0, now: now) }
    }

    func testATokenIsShownOnceAndKeptOnlyAsAKeyedHash() throws {
        let (record, token) = try vault.createToken(name: "ci", prefixes: [try AccessToken.Scope("dev")], rights: [.reveal], lifetime: nil)
        let shown = text(token)
        XCTAssertTrue(shown.hasPrefix("cft_") && shown.count == 4 + 64, shown)
        XCTAssertEqual(record.rights, [.read, .reveal], "every token reads")
        XCTAssertEqual(try authenticate(shown)?.name, "ci")
        // Nowhere under .git/coffer, nor in the repository's files.
        let secretPart = String(shown.dropFirst(4))
        for name in try FileManager.default.contentsOfDirectory(atPath: gitCoffer) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: gitCoffer + "/" + name))
            XCTAssertNil(bytes.range(of: Data(secretPart.utf8)), "\(name) holds the token")
            XCTAssertNil(bytes.range(of: Data(secretPart.prefix(16).utf8)), "\(name) holds part of the token")
        }
        for name in ["tokens", "token-key"] {
            let mode = try (FileManager.default.attributesOfItem(atPath: gitCoffer + "/" + name)[.posixPermissions] as! NSNumber).intValue
            XCTAssertEqual(mode & 0o777, 0o600, name)
        }
        // Two tokens are never alike.
        let (_, other) = try vault.createToken(name: nil, prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)
        XCTAssertNotEqual(text(other), shown)
        XCTAssertEqual(try vault.tokens().map(\.name), ["ci", "token-1"])
    }

    func testOnlyAWholeLiveTokenOfThisHostAuthenticates() throws {
        let now = 1_800_000_000
        let (_, token) = try vault.createToken(name: "short", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: 60, now: now)
        let shown = text(token)
        XCTAssertNotNil(try authenticate(shown, now: now + 59))
        XCTAssertNil(try authenticate(shown, now: now + 60), "expired")
        var flipped = Array(shown.utf8)
        flipped[10] = flipped[10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        XCTAssertNil(try authenticate(String(decoding: flipped, as: UTF8.self), now: now))
        XCTAssertNil(try authenticate(String(shown.dropLast()), now: now))
        XCTAssertNil(try authenticate(shown.uppercased(), now: now))
        XCTAssertNil(try authenticate("", now: now))
        // Another host's key makes another hash: the list is of no use elsewhere.
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: gitCoffer + "/token-key"))
        XCTAssertNil(try authenticate(shown, now: now))
    }

    func testRevokedTokensAreRefusedAndNamesAreChecked() throws {
        let (_, token) = try vault.createToken(name: "gone", prefixes: [try AccessToken.Scope("/")], rights: [.write], lifetime: nil)
        XCTAssertEqual(try vault.revokeToken(named: "gone").name, "gone")
        XCTAssertNil(try authenticate(text(token)))
        XCTAssertThrowsError(try vault.revokeToken(named: "gone")) { XCTAssertEqual($0 as? VaultError, .noSuchToken(name: "gone")) }
        _ = try vault.createToken(name: "a", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)
        XCTAssertThrowsError(try vault.createToken(name: "a", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)) {
            XCTAssertEqual($0 as? VaultError, .tokenExists(name: "a"))
        }
        for bad in ["", "has space", "x/y", String(repeating: "n", count: 65), "tab\t"] {
            XCTAssertThrowsError(try vault.createToken(name: bad, prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil), bad)
        }
    }

    func testPrefixesReachWholeSegmentsOnly() throws {
        let (record, _) = try vault.createToken(name: nil, prefixes: [try AccessToken.Scope("dev/"), try AccessToken.Scope("ops/ci")],
                                                rights: [], lifetime: nil)
        XCTAssertTrue(record.reaches(id("dev/db")))
        XCTAssertTrue(record.reaches(id("ops/ci/key")))
        XCTAssertTrue(record.reaches(id("ops/ci")), "without a slash, the id of that name too (as coffer list ops/ci)")
        XCTAssertFalse(record.reaches(id("dev")), "dev/ is a directory: the root-level id dev is not in it")
        XCTAssertFalse(record.reaches(id("devx/db")))
        XCTAssertFalse(record.reaches(id("ops/other")))
        XCTAssertFalse(record.reaches(id("prod/db")))
        XCTAssertEqual(record.prefixes.map(\.description), ["dev/", "ops/ci"])
        // Read back from the file, the same.
        XCTAssertEqual(try vault.tokens(), [record])
    }

    func testNothingIsWidenedOrOverflowed() throws {
        XCTAssertThrowsError(try vault.createToken(name: nil, prefixes: [], rights: [], lifetime: nil)) {
            XCTAssertEqual($0 as? VaultError, .invalidTokenScope)
        }
        for lifetime in [0, -5, Int.max] {
            XCTAssertThrowsError(try vault.createToken(name: nil, prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: lifetime)) {
                XCTAssertEqual($0 as? VaultError, .invalidTokenLifetime)
            }
        }
        _ = try vault.createToken(name: "token-9223372036854775807", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)
        XCTAssertEqual(try vault.createToken(name: nil, prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil).0.name, "token-1")
    }

    func testTheKeyIsNeverQuietlyReplacedNorReadThroughALink() throws {
        let (_, token) = try vault.createToken(name: "a", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)
        let key = gitCoffer + "/token-key"
        try FileManager.default.removeItem(atPath: key)
        XCTAssertThrowsError(try vault.createToken(name: "b", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)) {
            XCTAssertEqual($0 as? VaultError, .corruptTokens(line: 0), "a lost key voids every token: said, not hidden")
        }
        XCTAssertThrowsError(try authenticate(text(token)))
        try FileManager.default.createSymbolicLink(atPath: key, withDestinationPath: "/dev/zero")
        XCTAssertThrowsError(try authenticate(text(token)), "a link is not followed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/elsewhere"))
        // Writing replaces a link at tokens instead of writing through it.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.removeItem(atPath: gitCoffer + "/tokens")
        try FileManager.default.createSymbolicLink(atPath: gitCoffer + "/tokens", withDestinationPath: directory + "/elsewhere")
        XCTAssertThrowsError(try vault.tokens(), "the list is not read through a link")
    }

    func testADamagedTokenListIsAnErrorNotAnEmptyList() throws {
        _ = try vault.createToken(name: "x", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil)
        let path = gitCoffer + "/tokens"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let good = text
        text += "token y zz created=1 expires=never rights=read prefixes=/\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try vault.tokens()) { XCTAssertEqual($0 as? VaultError, .corruptTokens(line: 3)) }
        XCTAssertThrowsError(try vault.createToken(name: "z", prefixes: [try AccessToken.Scope("/")], rights: [], lifetime: nil))
        // A repeated line (one revoke would leave the other), doubled spaces, rights out of order: damage too.
        let line = good.split(separator: "\n")[1]
        for damaged in [good + line + "\n", good.replacingOccurrences(of: " created=", with: "  created="),
                        good.replacingOccurrences(of: "rights=read", with: "rights=read,read")] {
            try damaged.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try vault.tokens(), damaged)
        }
    }
}
