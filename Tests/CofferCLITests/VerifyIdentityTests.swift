import Foundation
import XCTest

/// `verify` fails closed: an identity the user names must exist, and without
/// any identity it says that nothing was decrypted.
final class VerifyIdentityTests: VaultE2ECase {
    /// A committed secret whose payload is damaged: only decryption can tell.
    private func vaultWithADamagedSecret() throws {
        try initVault()
        try cofOK(["set", "db/password", "--stdin"], stdin: Data(canary("verify").utf8))
        var sealed = try sealed("db/password")
        sealed[sealed.count - 1] ^= 0x01
        try sealed.write(to: URL(fileURLWithPath: sealedPath("db/password")))
        try gitOK(["add", "-A"], in: vaultDir)
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "damage"], in: vaultDir)
        let found = try cof(["verify"])
        XCTAssertEqual(found.status, 1, "the damage is not seen with the identity: \(found.stderrText)")
    }

    func testANamedIdentityThatDoesNotExistIsAnError() throws {
        try vaultWithADamagedSecret()
        let missing = path("nonexistent")
        for (arguments, env) in [(["verify", "--identity", missing], [:]), (["verify"], ["COFFER_IDENTITY": missing])] {
            let result = try cof(arguments, env: env)
            XCTAssertEqual(result.status, 1, "\(arguments) \(env): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.hasPrefix("coffer: error: no identity at \(missing)\n"), result.stderrText)
            XCTAssertEqual(result.stdoutText, "")
            XCTAssertFalse(result.stderrText.contains("no drift"), result.stderrText)
        }
    }

    func testWithoutAnyIdentityVerifySaysNothingWasDecrypted() throws {
        try initVault()
        try cofOK(["set", "a=1"])
        try FileManager.default.removeItem(atPath: identityFile)
        try? FileManager.default.removeItem(atPath: identityFile + ".pub")
        let warning = "coffer: warning: no identity at \(identityFile): nothing was decrypted"

        let clean = try cof(["verify"])
        XCTAssertEqual(clean.status, 0, clean.stderrText)
        XCTAssertTrue(clean.stderrText.hasPrefix(warning), clean.stderrText)
        XCTAssertTrue(clean.stderrText.contains("(0 decrypted with your identity)"), clean.stderrText)

        let json = try cof(["verify", "-o", "json"])
        XCTAssertEqual(json.status, 0, json.stderrText)
        XCTAssertTrue(json.stderrText.hasPrefix(warning), json.stderrText)

        _ = try write("vault/stray.age", "not tracked")
        let drifted = try cof(["verify"], clean: false)
        XCTAssertEqual(drifted.status, 1, drifted.stderrText)
        XCTAssertTrue(drifted.stderrText.hasPrefix(warning), drifted.stderrText)
        XCTAssertTrue(drifted.stdoutText.contains("orphan"), drifted.stdoutText)
    }
}
