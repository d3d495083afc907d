import GitStore
import XCTest

final class ConfigTests: GitTestCase {
    func testSignatureComesFromRepositoryConfig() throws {
        let repo = try makeRepository()
        try git(repo, "config", "user.name", "Ops Laptop")
        try git(repo, "config", "user.email", "ops@example.com")
        XCTAssertEqual(try repo.configuredSignature(), Signature(name: "Ops Laptop", email: "ops@example.com"))
        // A handle opened earlier sees later config changes too.
        try git(repo, "config", "user.name", "Renamed")
        XCTAssertEqual(try repo.configuredSignature()?.name, "Renamed")
    }

    func testMissingEmailGivesNil() throws {
        let repo = try makeRepository()
        let globalEmail = try git(repo, "config", "--global", "user.email", allowFailure: true)
        guard globalEmail.status != 0 else { throw XCTSkip("a global user.email is configured for this user") }
        try git(repo, "config", "user.name", "Only Name")
        XCTAssertNil(try repo.configuredSignature())
    }
}
