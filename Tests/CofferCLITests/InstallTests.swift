import Foundation
import XCTest

extension Tools {
    /// The coffer that `scripts/install` put on this machine: `$COFFER_INSTALLED_BIN`
    /// (which `.ci/run` exports), else a `coffer` on PATH that is not the
    /// debug build under test; nil when there is none.
    static let installedCoffer: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let named = environment["COFFER_INSTALLED_BIN"], !named.isEmpty { return named }
        guard let found = which("coffer") else { return nil }
        let debug = (try? coffer.get()).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
        return URL(fileURLWithPath: found).resolvingSymlinksInPath().path == debug ? nil : found
    }()

    /// The binary a user would run after following README.md: the installed
    /// one when there is one, else the debug build.
    static var cofferUnderTest: Result<String, TestSetupError> {
        installedCoffer.map { .success($0) } ?? coffer
    }
}

/// `scripts/install` (README.md, "Install") gives a binary that runs without
/// the Swift toolchain: the runtime is linked in, nothing is found through the
/// toolchain's directory or the caller's environment.
final class InstallTests: CLITestCase {
    private var installed: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let found = Tools.installedCoffer else {
            let message = "no installed coffer: run `scripts/install PREFIX` and set COFFER_INSTALLED_BIN=PREFIX/bin/coffer "
                + "(.ci/run does both)"
            if Tools.isCI {
                XCTFail("CI=true and " + message)
                throw TestSetupError(message)
            }
            throw XCTSkip(message)
        }
        guard FileManager.default.isExecutableFile(atPath: found) else {
            XCTFail("the installed coffer \(found) is missing or not executable")
            throw TestSetupError("missing \(found)")
        }
        installed = found
    }

    /// `env -i PATH=/usr/bin:/bin HOME=… coffer ARGS…`: no toolchain on PATH, no LD_LIBRARY_PATH.
    private func bare(_ arguments: [String], stdin: Data? = nil) throws -> CommandResult {
        try run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "HOME=\(path("home"))", installed] + arguments, stdin: stdin)
    }

    func testRunsWithoutTheToolchain() throws {
        let version = try bare(["--version"])
        XCTAssertEqual(version.status, 0, version.stderrText)
        let debugVersion = try succeedCoffer(["--version"]).stdoutText
        XCTAssertEqual(version.stdoutText, debugVersion, "the installed coffer is today's")

        XCTAssertEqual(try bare(["age", "keygen", "-o", path("key.txt")]).status, 0)
        let recipient = try bare(["age", "keygen", "-y", path("key.txt")])
        XCTAssertEqual(recipient.status, 0, recipient.stderrText)
        XCTAssertTrue(recipient.stdoutText.hasPrefix("age1"))
        let message = Data("installed and round-tripped".utf8)
        let encrypted = try bare(["age", "encrypt", "-r", recipient.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                                  "-o", path("message.age")], stdin: message)
        XCTAssertEqual(encrypted.status, 0, encrypted.stderrText)
        let decrypted = try bare(["age", "decrypt", "-i", path("key.txt"), path("message.age")])
        XCTAssertEqual(decrypted.status, 0, decrypted.stderrText)
        XCTAssertEqual(decrypted.stdout, message)
    }

    /// `-o yaml` runs the installed `coffer-yaml` beside it, also without the toolchain.
    func testWritesYAMLThroughItsHelper() throws {
        let vault = path("vault")
        XCTAssertEqual(try bare(["init", vault]).status, 0)
        XCTAssertEqual(try bare(["set", "a/b", "--stdin", "--vault", vault], stdin: Data("v".utf8)).status, 0)
        let yaml = try bare(["list", "-o", "yaml", "--vault", vault])
        XCTAssertEqual(yaml.status, 0, yaml.stderrText)
        XCTAssertEqual(yaml.stdoutText, "secrets:\n- id: \"a/b\"\n")
    }

    /// `coffer serve` runs the installed `coffer-serve` beside it.
    func testServesThroughItsHelper() throws {
        let help = try bare(["serve", "--help"])
        XCTAssertEqual(help.status, 0, help.stderrText)
        XCTAssertTrue(help.stdoutText.contains("USAGE: coffer serve [--listen <HOST:PORT>]"), help.stdoutText)
    }

    func testLinksNoSwiftRuntimeLibrary() throws {
        guard let ldd = Tools.which("ldd") else {
            let message = "`ldd` is not installed (Debian: apt-get install libc-bin)"
            if Tools.isCI { XCTFail("CI=true and " + message) }
            throw Tools.isCI ? TestSetupError(message) : XCTSkip(message)
        }
        let directory = URL(fileURLWithPath: installed).deletingLastPathComponent()
        var libraries = try succeed(ldd, [installed]).stdoutText
        for helper in ["coffer-yaml", "coffer-serve"] {
            libraries += try succeed(ldd, [directory.appendingPathComponent(helper).path]).stdoutText
        }
        XCTAssertFalse(libraries.contains("libswiftCore"), "the installed coffer loads the Swift runtime:\n\(libraries)")
        XCTAssertFalse(libraries.contains("not found"), libraries)
        // Nothing from the toolchain's directory (the one that holds `swift`) either.
        if let swift = Tools.which("swift") {
            let toolchain = URL(fileURLWithPath: swift).resolvingSymlinksInPath()
                .deletingLastPathComponent().deletingLastPathComponent().path
            XCTAssertFalse(libraries.contains(toolchain + "/"), "loads a library from \(toolchain):\n\(libraries)")
        }
    }
}
