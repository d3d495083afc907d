import XCTest
#if canImport(Glibc)
import Glibc
#endif
import CofferLocator

/// The environment turned into explicit settings (Sources/CofferLocator).
final class LocatorTests: XCTestCase {
    private func locator(_ variables: [String: String], cwd: String = "/work") -> Locator {
        Locator(variable: { variables[$0] }, currentDirectory: cwd)
    }

    func testVaultDirectoryPrecedence() {
        let env = ["COFFER_VAULT": "/srv/vault"]
        XCTAssertEqual(locator(env).vaultDirectory(explicit: "/explicit"), "/explicit")
        XCTAssertEqual(locator(env).vaultDirectory(explicit: nil), "/srv/vault")
        XCTAssertEqual(locator(env).vaultDirectory(explicit: ""), "/srv/vault")
        XCTAssertEqual(locator([:]).vaultDirectory(explicit: nil), "/work/.")
        XCTAssertEqual(locator(["COFFER_VAULT": ""]).vaultDirectory(explicit: nil), "/work/.")
        // Relative values are made absolute against the current directory.
        XCTAssertEqual(locator(env).vaultDirectory(explicit: "rel/v"), "/work/rel/v")
        XCTAssertEqual(locator(["COFFER_VAULT": "v"]).vaultDirectory(explicit: nil), "/work/v")
        XCTAssertEqual(locator(["COFFER_VAULT": "v"], cwd: "/").vaultDirectory(explicit: nil), "/v")
    }

    func testIdentityPathPrecedence() {
        let all = ["COFFER_IDENTITY": "/keys/id", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"]
        XCTAssertEqual(locator(all).identityPath(explicit: "/given"), "/given")
        XCTAssertEqual(locator(all).identityPath(explicit: "given"), "/work/given")
        XCTAssertEqual(locator(all).identityPath(explicit: nil), "/keys/id")
        XCTAssertEqual(locator(all).identityPath(explicit: ""), "/keys/id")
        XCTAssertEqual(locator(["COFFER_IDENTITY": "rel/id"]).identityPath(explicit: nil), "/work/rel/id")
        XCTAssertEqual(locator(["XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"]).identityPath(explicit: nil), "/xdg/coffer/identity")
        // A relative XDG_CONFIG_HOME is ignored (the XDG rule).
        XCTAssertEqual(locator(["XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"]).identityPath(explicit: nil),
                       "/home/u/.config/coffer/identity")
        XCTAssertEqual(locator(["XDG_CONFIG_HOME": "", "HOME": "/home/u"]).identityPath(explicit: nil),
                       "/home/u/.config/coffer/identity")
        XCTAssertEqual(locator(["HOME": "/home/u"]).configDirectory, "/home/u/.config")
        XCTAssertTrue(locator([:]).identityPath(explicit: nil).hasSuffix("/.config/coffer/identity"))
    }

    func testRuntimeDirectory() {
        XCTAssertEqual(locator(["XDG_RUNTIME_DIR": "/run/user/1000", "XDG_STATE_HOME": "/state"]).runtimeDirectory,
                       "/run/user/1000/coffer")
        // Without it (or relative), the state directory, as the audit log's.
        XCTAssertEqual(locator(["XDG_STATE_HOME": "/state"]).runtimeDirectory, "/state/coffer")
        XCTAssertEqual(locator(["XDG_RUNTIME_DIR": "run", "HOME": "/home/u"]).runtimeDirectory, "/home/u/.local/state/coffer")
    }

    func testLockTimeout() {
        XCTAssertEqual(locator([:]).lockTimeout, 10)
        XCTAssertEqual(locator(["COFFER_LOCK_TIMEOUT": "2.5"]).lockTimeout, 2.5)
        XCTAssertEqual(locator(["COFFER_LOCK_TIMEOUT": "0"]).lockTimeout, 0)
        XCTAssertEqual(locator(["COFFER_LOCK_TIMEOUT": "-3"]).lockTimeout, 0)
        XCTAssertEqual(locator(["COFFER_LOCK_TIMEOUT": "soon"]).lockTimeout, 10)
    }

    func testUserName() {
        XCTAssertEqual(locator(["USER": "ann", "LOGNAME": "log"]).userName, "ann")
        XCTAssertEqual(locator(["LOGNAME": "log"]).userName, "log")
        XCTAssertEqual(locator(["USER": "", "LOGNAME": "log"]).userName, "log")
        // Neither set (cron, `env -i`): the account's own name.
        let account = getpwuid(getuid()).flatMap { $0.pointee.pw_name }.map { String(cString: $0) }
        XCTAssertNotNil(account)
        XCTAssertEqual(locator([:]).userName, account)
    }

    func testRevealInDiffs() {
        XCTAssertTrue(locator(["COFFER_DIFF_REVEAL": "1"]).revealsValuesInDiffs)
        XCTAssertFalse(locator(["COFFER_DIFF_REVEAL": "yes"]).revealsValuesInDiffs)
        XCTAssertFalse(locator([:]).revealsValuesInDiffs)
    }

    func testAbsolute() {
        XCTAssertEqual(locator([:]).absolute("/a/b"), "/a/b")
        XCTAssertEqual(locator([:]).absolute("a/b"), "/work/a/b")
        XCTAssertEqual(locator([:], cwd: "/").absolute("a"), "/a")
    }
}
