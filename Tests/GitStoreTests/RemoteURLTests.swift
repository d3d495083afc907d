@testable import GitStore
import XCTest

/// How remote URLs are read for host keys and credential helpers, including
/// the scp-like forms (which can carry a port only in brackets).
final class RemoteURLTests: XCTestCase {
    func testForms() {
        let ssh = RemoteURL("ssh://git@example.com:2222/team/vault.git")
        XCTAssertEqual([ssh.kind, .ssh], [.ssh, .ssh])
        XCTAssertEqual(ssh.user, "git")
        XCTAssertEqual(ssh.knownHostsName, "[example.com]:2222")
        XCTAssertEqual(ssh.path, "team/vault.git")

        let scp = RemoteURL("git@example.com:team/vault.git")
        XCTAssertEqual(scp.kind, .ssh)
        XCTAssertEqual(scp.user, "git")
        XCTAssertEqual(scp.knownHostsName, "example.com")
        XCTAssertEqual(scp.path, "team/vault.git")

        let bracketed = RemoteURL("[git@127.0.0.1:2222]:/srv/vault.git")
        XCTAssertEqual(bracketed.kind, .ssh)
        XCTAssertEqual(bracketed.user, "git")
        XCTAssertEqual(bracketed.knownHostsName, "[127.0.0.1]:2222")
        XCTAssertEqual(bracketed.path, "/srv/vault.git")

        XCTAssertEqual(RemoteURL("ssh://example.com:22/x").knownHostsName, "example.com")
        XCTAssertEqual(RemoteURL("/srv/vault.git").kind, .local)
        XCTAssertEqual(RemoteURL("./a:b").kind, .local)
        XCTAssertEqual(RemoteURL("file:///srv/vault.git").kind, .file)

        let http = RemoteURL("https://alice:s3cret@example.com:8443/git/vault.git")
        XCTAssertEqual(http.kind, .https)
        XCTAssertEqual(http.user, "alice")
        XCTAssertEqual(http.credentialHost, "example.com:8443")
        XCTAssertEqual(http.path, "git/vault.git")
        XCTAssertEqual(http.redacted, "https://alice@example.com:8443/git/vault.git")
        XCTAssertFalse(http.redacted.contains("s3cret"))
    }
}

/// git's credential protocol is line-based: a field with a line break
/// (from a crafted URL or user name) would add lines of its own.
final class CredentialRequestTests: XCTestCase {
    func testAFieldWithALineBreakIsRefusedBeforeAnyHelperRuns() throws {
        let helper = CredentialHelper(git: "/bin/true", allowTerminalPrompt: false)
        XCTAssertThrowsError(try helper.fill(RemoteURL("https://git.example.com/team/vault.git"), username: "bob\nhost=evil.example"))
        // A helper that answers nothing (here /bin/true) gives no credential: no error.
        XCTAssertNil(try helper.fill(RemoteURL("https://git.example.com/team/vault.git"), username: "bob"))
    }
}
