import CGit2
import XCTest
@testable import GitStore

final class LibGit2LoadingTests: XCTestCase {
    /// The dlopen'd library is the one whose headers we compiled against.
    func testLoadsTheLibraryMatchingTheHeaders() throws {
        let version = try GitRuntime.version()
        XCTAssertTrue(version.hasPrefix("\(LIBGIT2_VER_MAJOR).\(LIBGIT2_VER_MINOR)."), version)
        XCTAssertEqual(LibGit2.soname, "libgit2.so.\(LIBGIT2_VER_MAJOR).\(LIBGIT2_VER_MINOR)")
    }

    func testFailedCallsBecomeErrorsWithLibgit2sMessage() throws {
        let lib = try LibGit2.load()
        XCTAssertNoThrow(try lib.check(0, "git_ok"))
        XCTAssertThrowsError(try lib.check(-3, "git_example")) { error in
            guard case GitError.call(let function, let code, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(function, "git_example")
            XCTAssertEqual(code, -3)
        }
    }
}
