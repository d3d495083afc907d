import Foundation
import XCTest
import Age
@testable import CofferKit

/// `coffer exec`'s use case in process: names from ids, clashes, `only`,
/// reading with every missing id listed, and the environment merge.
final class SecretEnvironmentExecTests: VaultTestCase {
    func testNamesDerivedFromTheLastSegment() throws {
        let cases = [
            "app/db/password": "PASSWORD", "app/db-url": "DB_URL", "tls.key": "TLS_KEY", "app/2fa.seed": "_2FA_SEED",
            "x/-lead": "_LEAD", "a/Mixed_Case9": "MIXED_CASE9", "deep/er/still/api.Token-v2": "API_TOKEN_V2", "9": "_9",
        ]
        for (text, expected) in cases {
            XCTAssertEqual(EnvironmentName(deriving: id(text)).value, expected, text)
            XCTAssertNoThrow(try EnvironmentName(EnvironmentName(deriving: id(text)).value), "\(text) derives an invalid name")
        }
    }

    func testTypedNamesMustBePortable() {
        for good in ["A", "_", "db_url", "X9", "_2FA"] { XCTAssertNoThrow(try EnvironmentName(good), good) }
        for bad in ["", "9A", "A-B", "A=B", "A B", "É", "A.B", "a\u{0}b"] {
            XCTAssertThrowsError(try EnvironmentName(bad), bad) {
                XCTAssertEqual($0 as? SecretEnvironmentError, .invalidName(bad))
            }
        }
    }

    func testClashesAreRefusedNamingBothUntilMapSettlesThem() throws {
        try set(["app/db/password": "p1", "app/cache/password": "p2", "app/url": "u"])
        var request = SecretEnvironmentRequest()
        request.prefixes = [try Prefix("app")]
        XCTAssertThrowsError(try vault.planSecretEnvironment(request)) { error in
            guard case .clashes(let clashes)? = error as? SecretEnvironmentError else { return XCTFail("\(error)") }
            XCTAssertEqual(clashes.map(\.name.value), ["PASSWORD"])
            XCTAssertEqual(clashes[0].bindings.map(\.id), [id("app/cache/password"), id("app/db/password")])
            XCTAssertTrue("\(error)".contains("app/cache/password") && "\(error)".contains("app/db/password"), "\(error)")
        }
        // A mapped id keeps only its mapped name; the other keeps the derived one.
        request.variables = [(try EnvironmentName("CACHE_PASSWORD"), id("app/cache/password"))]
        let plan = try vault.planSecretEnvironment(request)
        XCTAssertEqual(plan.bindings.map { "\($0.name)=\($0.id)" },
                       ["CACHE_PASSWORD=app/cache/password", "PASSWORD=app/db/password", "URL=app/url"])
        XCTAssertEqual(plan.unavailable, [])
    }

    func testOverlappingPrefixesAndFilesAndOnly() throws {
        try set(["app/db/password": "p1", "app/key": "k", "app/url": "u"])
        var request = SecretEnvironmentRequest()
        request.prefixes = [try Prefix("app"), try Prefix("app/db"), try Prefix("nothing")]
        request.files = [(try EnvironmentName("KEY_FILE"), id("app/key"))]
        var plan = try vault.planSecretEnvironment(request)
        XCTAssertEqual(plan.bindings.map { "\($0.name)=\($0.id):\($0.delivery)" },
                       ["KEY_FILE=app/key:file", "PASSWORD=app/db/password:variable", "URL=app/url:variable"])
        XCTAssertEqual(plan.unavailable, [.emptyPrefix(try Prefix("nothing"))])

        request.prefixes.removeLast()
        request.only = [try EnvironmentName("URL"), try EnvironmentName("KEY_FILE"), try EnvironmentName("NOPE")]
        request.overridden = [try EnvironmentName("URL")]
        plan = try vault.planSecretEnvironment(request)
        // URL is --env's: not read; NOPE names nothing.
        XCTAssertEqual(plan.bindings.map(\.name.value), ["KEY_FILE"])
        XCTAssertEqual(plan.unavailable, [.unmatchedName(try EnvironmentName("NOPE"))])
    }

    func testMissingAndUnreadableAreListedTogetherUnlessAllowed() throws {
        let other = X25519Identity.generate()
        try commitRecipients("", [named(me, "me"), named(other, "other")])
        try commitRecipients("mine", [named(me, "me")])
        try set(["app/a": "1", "app/b": "2", "mine/c": "3"])

        var request = SecretEnvironmentRequest()
        request.prefixes = [try Prefix("app")]
        request.variables = [(try EnvironmentName("C"), id("mine/c")), (try EnvironmentName("D"), id("app/nope"))]
        let plan = try vault.planSecretEnvironment(request)
        XCTAssertThrowsError(try vault.readSecretEnvironment(plan, identities: [other])) { error in
            XCTAssertEqual(error as? SecretEnvironmentError, .unavailable([.missing(id("app/nope")), .unreadable(id("mine/c"))]))
        }
        request.allowMissing = true
        let read = try vault.readSecretEnvironment(try vault.planSecretEnvironment(request), identities: [other])
        XCTAssertEqual(read.secrets.map { "\($0.binding.name)=\(string($0.value))" }, ["A=1", "B=2"])
        XCTAssertEqual(read.skipped, [.missing(id("app/nope")), .unreadable(id("mine/c"))])
    }

    func testANULByteIsRefusedInAVariableButNotInAFile() throws {
        var plan = try vault.planSet([(id("bin/blob"), SecureBytes(copying: [1, 0, 2]))], me: nil)
        plan.confirm()
        _ = try vault.apply(plan, identities: [me])
        var request = SecretEnvironmentRequest()
        request.prefixes = [try Prefix("bin")]
        XCTAssertThrowsError(try vault.readSecretEnvironment(try vault.planSecretEnvironment(request), identities: [me])) {
            XCTAssertEqual($0 as? SecretEnvironmentError, .holdsNUL(ids: [id("bin/blob")]))
        }
        request.files = [(try EnvironmentName("BLOB"), id("bin/blob"))]
        let read = try vault.readSecretEnvironment(try vault.planSecretEnvironment(request), identities: [me])
        XCTAssertEqual(read.secrets.map { $0.value.withUnsafeBytes { Array($0) } }, [[1, 0, 2]])
    }

    func testMergePrecedenceAndPristine() throws {
        let inherited: [[UInt8]] = [Array("PATH=/bin".utf8), Array("A=inherited".utf8), [0x58, 0x3D, 0xFF], Array("B=inherited".utf8), Array("C=kept".utf8)]
        let env = ChildEnvironment(
            inherited: inherited,
            secrets: [(try EnvironmentName("A"), .secret(bytes("secret-a"))), (try EnvironmentName("B"), .secret(bytes("secret-b"))),
                      (try EnvironmentName("F"), .text("/dev/fd/3"))],
            overrides: [(try EnvironmentName("B"), "env-b"), (try EnvironmentName("D"), "1"), (try EnvironmentName("D"), "2")])
        XCTAssertEqual(entries(env), ["PATH=/bin", "X=\u{FFFD}", "C=kept", "A=secret-a", "F=/dev/fd/3", "B=env-b", "D=2"])
        XCTAssertEqual(env.value(of: "PATH"), Array("/bin".utf8))
        XCTAssertNil(env.value(of: "PAT"))
        // The non-UTF-8 entry is passed on byte for byte.
        env.withEnvironmentPointers { XCTAssertEqual(Array(UnsafeRawBufferPointer(start: $0[1], count: strlen($0[1]!))), [0x58, 0x3D, 0xFF]) }

        let pristine = ChildEnvironment(inherited: nil, secrets: [(try EnvironmentName("A"), .secret(bytes("s")))], overrides: [])
        XCTAssertEqual(entries(pristine), ["A=s"])
        XCTAssertNil(pristine.value(of: "PATH"))
    }

    private func entries(_ env: ChildEnvironment) -> [String] {
        env.withEnvironmentPointers { pointers in
            XCTAssertNil(pointers.last!, "envp is not NULL-terminated")
            return pointers.dropLast().map { String(cString: $0!) }
        }
    }
}
