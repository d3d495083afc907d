import Age
import AgePlugin
import Foundation
import XCTest

/// Each way a plugin can break a session ends it with a typed error within
/// the (2 s) timeout: the plugin killed and reaped, no zombie, no file key
/// in the message.
final class PluginFailureTests: XCTestCase {
    private var plugin: PluginFixture!
    private let key = SecureBytes(copying: [UInt8](repeating: 0xA5, count: 16))

    override func setUpWithError() throws {
        plugin = try PluginFixture()
    }

    /// Runs a wrap and an unwrap in `mode`; each must fail within the bound and pass `check`.
    private func expectFailure(_ mode: String, within bound: Double = 5, file: StaticString = #filePath, line: UInt = #line,
                               _ check: (PluginError) -> Void) throws {
        let stanzas = try plugin.client().wrap(fileKeys: [key], for: [plugin.recipient])
        let operations: [(String, (PluginClient) throws -> Void)] = [
            ("wrap", { _ = try $0.wrap(fileKeys: [self.key], for: [self.plugin.recipient]) }),
            ("unwrap", { _ = try $0.unwrap(files: stanzas, with: [self.plugin.identity]) }),
        ]
        for (name, operation) in operations {
            let client = plugin.client(mode: mode)
            let started = Date()
            XCTAssertThrowsError(try operation(client), "\(mode) \(name)", file: file, line: line) { error in
                guard let error = error as? PluginError else { return XCTFail("\(error)", file: file, line: line) }
                check(error)
                let text = "\(error)"
                XCTAssertFalse(text.contains(Base64.encode(key.bytes)), "no file key in \(text)", file: file, line: line)
                XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "escaped: \(text)", file: file, line: line)
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), bound, "\(mode) \(name) took too long", file: file, line: line)
            XCTAssertEqual(zombieChildren(), [], "\(mode) \(name) left a zombie", file: file, line: line)
        }
    }

    func testExitEarly() throws {
        try expectFailure("exit-early") { error in
            guard case .failed("coffertest", .exited(status: 3), let stderr) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(stderr, "coffertest: giving up \u{1b}[31mnow")
            XCTAssertTrue("\(error)".hasSuffix(#"its stderr ended: "coffertest: giving up \x1b[31mnow""#), "\(error)")
        }
    }

    func testHangTimesOut() throws {
        try expectFailure("hang") { error in
            XCTAssertEqual(error, .failed(plugin: "coffertest", why: .timedOut(seconds: 2), stderr: "coffertest: hanging"))
        }
    }

    /// A plugin that never reads: the client's writes stop at the timeout
    /// once the pipe is full (5,000 keys are 200 KB, a pipe holds 64 KB).
    func testDeafPluginTimesOutOnWrite() throws {
        let keys = (0..<5000).map { _ in SecureBytes.random(count: 16) }
        let started = Date()
        XCTAssertThrowsError(try plugin.client(mode: "deaf").wrap(fileKeys: keys, for: [plugin.recipient])) {
            XCTAssertEqual($0 as? PluginError, .failed(plugin: "coffertest", why: .timedOut(seconds: 2), stderr: ""))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(zombieChildren(), [])
    }

    func testClosedOutput() throws {
        try expectFailure("close-stdout") { error in
            XCTAssertEqual(error, .failed(plugin: "coffertest", why: .closedOutput, stderr: ""))
        }
    }

    func testMalformedStanza() throws {
        try expectFailure("malformed-stanza") { error in
            XCTAssertEqual(error, .failed(plugin: "coffertest", why: .malformed("stanza body is not canonical base64"), stderr: ""))
        }
    }

    func testPluginErrorNamesThePluginAndIndex() throws {
        try expectFailure("error") { error in
            switch error {
            case .reported("coffertest", .recipient(0), let message):
                XCTAssertEqual(message, "recipient \u{1b}[2J0 is not a coffertest key")
                XCTAssertEqual("\(error)", #"plugin coffertest reported recipient 0: "recipient \x1b[2J0 is not a coffertest key""#)
            case .reported("coffertest", .identity(0), let message):
                XCTAssertEqual(message, "identity 0 is not a coffertest identity")
            default: XCTFail("\(error)")
            }
        }
    }

    func testBadIndexAndBadFileKey() throws {
        XCTAssertThrowsError(try plugin.client(mode: "bad-index").wrap(fileKeys: [key], for: [plugin.recipient])) {
            XCTAssertEqual($0 as? PluginError, .failed(plugin: "coffertest", why: .malformed("recipient-stanza without a valid file index and stanza type"), stderr: ""))
        }
        let stanzas = try plugin.client().wrap(fileKeys: [key], for: [plugin.recipient])
        XCTAssertThrowsError(try plugin.client(mode: "bad-file-key").unwrap(files: stanzas, with: [plugin.identity])) {
            XCTAssertEqual($0 as? PluginError, .failed(plugin: "coffertest", why: .malformed("a file key that is not 16 bytes"), stderr: ""))
        }
        XCTAssertEqual(zombieChildren(), [])
    }

    /// A plugin that writes more to stderr than a pipe holds still finishes
    /// (the client drains it), and a successful session shows none of it.
    func testStderrIsDrainedAndNotShown() throws {
        let client = plugin.client(mode: "stderr-flood")
        let stanzas = try client.wrap(fileKeys: [key], for: [plugin.recipient])
        XCTAssertEqual(try client.unwrap(files: stanzas, with: [plugin.identity])[0]?.bytes, key.bytes)
    }

    func testMissingPluginAndStanzasOfOtherFiles() throws {
        let missing = try PluginRecipient(parsing: String(decoding: Bech32.encode(hrp: "age1nosuchplugin", data: [1, 2, 3]), as: UTF8.self))
        XCTAssertThrowsError(try plugin.client().wrap(fileKeys: [key], for: [missing])) {
            XCTAssertEqual($0 as? PluginError, .notFound(plugin: "nosuchplugin"))
            XCTAssertEqual("\($0)", "age-plugin-nosuchplugin not found on PATH (absolute directories only)")
        }
        // Stanzas the plugin does not know are ignored: no key, no error, one session.
        let client = plugin.client()
        let foreign = [[Stanza(type: "X25519", arguments: ["abc"], body: [1, 2, 3])]]
        XCTAssertTrue(try client.unwrap(files: foreign, with: [plugin.identity]).isEmpty)
        XCTAssertEqual(client.sessionsStarted, 1)
    }
}
