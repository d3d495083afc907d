import Foundation
import XCTest

/// Start-up cost guards: the binary must not link libgit2, which costs every
/// process ~3 ms of dynamic loading; GitStore loads it on first use instead.
final class StartupTests: CLITestCase {
    func testBinaryDoesNotLinkLibgit2() throws {
        let ldd = try succeed("/usr/bin/ldd", [coffer])
        XCTAssertTrue(ldd.stdoutText.contains("libsodium"), "ldd output looks wrong: \(ldd.stdoutText)")
        XCTAssertFalse(ldd.stdoutText.contains("libgit2"), "coffer links libgit2:\n\(ldd.stdoutText)")
    }
}
