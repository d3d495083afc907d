import Foundation
import XCTest

/// A symlink inside the work tree (say `prod -> ~/.ssh`, pushed by another
/// collaborator) must never make coffer write outside the vault, and must not
/// leave a commit behind that the work tree cannot follow.
final class VaultSymlinkTests: VaultE2ECase {
    func testWritesThroughASymlinkedDirectoryAreRefusedBeforeCommitting() throws {
        _ = try initVault()
        let outside = path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: vaultDir + "/prod", withDestinationPath: outside)
        let before = try head()

        let refused = try cof(["set", "prod/x=value"], clean: false)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("symbolic link"), refused.stderrText)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "wrote outside the vault")
        XCTAssertEqual(try head(), before, "a refused write must not commit")
        XCTAssertFalse(fileExists(vaultDir + "/.git/coffer-journal"))

        // The vault stays usable for everything else.
        try FileManager.default.removeItem(atPath: vaultDir + "/prod")
        try cofOK(["set", "dev/y=other"])
        XCTAssertEqual(try reveal("dev/y"), Data("other".utf8))
    }
}
