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

    /// A key missing from the repository falls back to global/system config
    /// exactly as git resolves it, and nil when git has none either.
    func testMissingKeysFallBackLikeGitOrGiveNil() throws {
        let repo = try makeRepository()
        try git(repo, "config", "user.name", "Only Name")
        let inherited = try git(repo, "config", "user.email", allowFailure: true)
        let expected = inherited.status == 0
            ? Signature(name: "Only Name", email: String(inherited.output.dropLast()))
            : nil
        XCTAssertEqual(try repo.configuredSignature(), expected)
        try git(repo, "config", "user.email", "repo@example.com")
        try git(repo, "config", "--unset", "user.name")
        let inheritedName = try git(repo, "config", "user.name", allowFailure: true)
        XCTAssertEqual(try repo.configuredSignature(),
                       inheritedName.status == 0 ? Signature(name: String(inheritedName.output.dropLast()), email: "repo@example.com") : nil)
    }
}
