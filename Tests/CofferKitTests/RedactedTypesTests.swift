import XCTest
import Age
import SSHSig
@testable import CofferKit

/// Every public type of CofferKit, Age and SSHSig that holds a value or a
/// key prints redacted: `String(describing:)`, `debugDescription`, string
/// interpolation, `dump` and `Mirror` show no plaintext (searched for as
/// text and as the decimal bytes a default mirror of an array would show),
/// and the mirror has no children to walk.
final class RedactedTypesTests: VaultTestCase {
    private let canary = "CANARY-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + "-plaintext"

    /// Every way a value is commonly printed.
    private func shown(_ value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return [String(describing: value), String(reflecting: value), "\(value)", dumped]
    }

    private func assertRedacted(_ value: Any, hiding secrets: [String], file: StaticString = #filePath, line: UInt = #line) {
        let name = "\(type(of: value))"
        let mirror = Mirror(reflecting: value)
        XCTAssertTrue(mirror.children.isEmpty, "\(name) has a mirror with children: \(mirror.children.map { $0.label ?? "?" })", file: file, line: line)
        for text in shown(value) {
            XCTAssertTrue(text.contains("<redacted>"), "\(name) printed without <redacted>: \(text)", file: file, line: line)
            for secret in secrets where !secret.isEmpty {
                XCTAssertFalse(text.contains(secret), "\(name) printed a secret: \(text)", file: file, line: line)
                let decimal = Array(secret.utf8.prefix(8)).map(String.init).joined(separator: ", ")
                XCTAssertFalse(text.contains(decimal), "\(name) printed a secret's bytes: \(text)", file: file, line: line)
            }
        }
    }

    private var canaryBytes: SecureBytes { bytes(canary) }

    func testAgeTypes() throws {
        assertRedacted(canaryBytes, hiding: [canary])
        let identity = X25519Identity.generate()
        let encoded = string(identity.encodedSecretKey())
        assertRedacted(identity, hiding: [encoded, String(encoded.dropFirst("AGE-SECRET-KEY-1".count))])
        assertRedacted(ScryptIdentity(passphrase: canaryBytes, maxWorkFactor: 10), hiding: [canary])
        assertRedacted(try ScryptRecipient(passphrase: canaryBytes, workFactor: 1), hiding: [canary])

        let ciphertext = try Age.encrypt(canaryBytes, to: [identity.recipient])
        let sealedKey = try identity.unwrap(try Header.parse(ciphertext).header.stanzas)
        assertRedacted(sealedKey, hiding: [canary])
        let reader = try AgeReader(from: MemorySource(ciphertext), identities: [identity])
        let sink = MemorySink()
        try reader.write(to: sink)
        assertRedacted(reader, hiding: [canary])
        assertRedacted(sink, hiding: [canary])
        assertRedacted(MemorySource(Array(canary.utf8)), hiding: [canary])
        let writer = try AgeWriter(recipients: [identity.recipient], to: MemorySink())
        try writer.write(canaryBytes)
        assertRedacted(writer, hiding: [canary])
    }

    func testSigningKey() {
        let key = SSHSigningKey.generate()
        let file = key.openSSHPrivateKey().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let body = file.split(separator: "\n").dropFirst().prefix(2).joined()
        assertRedacted(key, hiding: [String(body.prefix(60))])
    }

    func testPlansAndResolvedValues() throws {
        try set(["app/token": canary])
        assertRedacted(try vault.planSet([(id("app/other"), canaryBytes)], me: nil), hiding: [canary])
        var options = ImportOptions()
        options.prefix = try Prefix("app")
        assertRedacted(try vault.planPlaintextImport([(key: "X", value: canaryBytes)], format: .dotenv, options: options, identities: [me]),
                       hiding: [canary])

        let reference = ConfigReference(id: id("app/token"), location: "$.token")
        let values = try vault.resolve([reference], identities: [me])
        assertRedacted(values, hiding: [canary])
        let tree = try vault.resolve(ConfigNode.map([("token", .string("coffer:app/token")), ("url", .string("x:${coffer:app/token}"))]),
                                     identities: [me])
        assertRedacted(tree, hiding: [canary])
        for leaf in [tree["token"], tree["url"]].compactMap({ $0 }) { assertRedacted(leaf, hiding: [canary]) }
        // The values are there, for the program that asks for them.
        XCTAssertEqual(tree["url"]?.secret.map(string), "x:" + canary)
        XCTAssertEqual(values[id("app/token")].map(string), canary)
    }
}
