import Age
import AgePlugin
import Foundation
import XCTest

final class PluginClientTests: XCTestCase {
    func testParsesRecipientsAndIdentities() throws {
        let plugin = try PluginFixture()
        XCTAssertEqual(plugin.recipient.name, "coffertest")
        XCTAssertTrue(plugin.recipient.encoded.hasPrefix("age1coffertest1"))
        XCTAssertEqual(plugin.identity.name, "coffertest")
        XCTAssertFalse("\(plugin.identity)".contains("AGE-PLUGIN-COFFERTEST-1"), "an identity never prints itself")

        let x25519 = X25519Identity.generate().recipient.encoded
        for bad in [x25519, plugin.recipient.encoded.uppercased(), "age1coffertest1qqqq", String(plugin.recipient.encoded.dropLast())] {
            XCTAssertThrowsError(try PluginRecipient(parsing: bad)) { XCTAssertEqual($0 as? PluginError, .invalidRecipient(bad)) }
        }
        for bad in [plugin.identityText.lowercased(), String(plugin.identityText.dropLast()), "AGE-SECRET-KEY-1QQQQ"] {
            XCTAssertThrowsError(try PluginIdentity(parsing: Array(bad.utf8))) { error in
                XCTAssertFalse("\(error)".contains(bad), "an identity is never quoted")
            }
        }
        // Bech32 with no 90-character limit: a long recipient parses.
        let long = String(decoding: Bech32.encode(hrp: "age1coffertest", data: [UInt8](repeating: 7, count: 300)), as: UTF8.self)
        XCTAssertEqual(try PluginRecipient(parsing: long).encoded, long)
    }

    /// One plugin process wraps 1,000 file keys, and one unwraps them all.
    func testThousandFilesOneSessionEach() throws {
        let plugin = try PluginFixture()
        let client = plugin.client(timeout: 30)
        let keys = (0..<1000).map { _ in SecureBytes.random(count: 16) }
        let stanzas = try client.wrap(fileKeys: keys, for: [plugin.recipient])
        XCTAssertEqual(stanzas.count, 1000)
        XCTAssertTrue(stanzas.allSatisfy { $0.count == 1 && $0[0].type == "coffertest" })
        XCTAssertEqual(client.sessionsStarted, 1)

        let opened = try client.unwrap(files: stanzas, with: [plugin.identity])
        XCTAssertEqual(client.sessionsStarted, 2)
        XCTAssertEqual(opened.count, 1000)
        for (i, key) in keys.enumerated() { XCTAssertTrue(opened[i]?.constantTimeEquals(key) == true, "file \(i)") }
        XCTAssertEqual(plugin.sessions, ["recipient-v1 files=1000 recipients=1 identities=0", "identity-v1 files=1000 identities=1"])
        XCTAssertTrue(zombieChildren().isEmpty)
    }

    /// Through AgeWriter/AgeReader and the batch's adapters: 200 files
    /// sealed and opened, one session each way, and one more for a re-wrap.
    func testBatchAdaptersRunOneSessionPerOperation() throws {
        let plugin = try PluginFixture()
        let batch = PluginBatch(client: plugin.client(timeout: 30))
        let other = try PluginFixture.keys(seed: "1", python: plugin.python)
        let second = try PluginRecipient(parsing: other.recipient)

        let keys = (0..<200).map { _ in AgeWriter.newFileKey() }
        try batch.prepareWrap(fileKeys: keys, for: [plugin.recipient, second])
        XCTAssertEqual(batch.sessionsStarted, 1, "two recipients of one plugin share its session")
        let recipients = batch.recipients([plugin.recipient, second])
        XCTAssertEqual(recipients.count, 1)
        var files: [[UInt8]] = []
        for (i, key) in keys.enumerated() {
            let sink = MemorySink()
            let writer = try AgeWriter(recipients: recipients, fileKey: key, to: sink)
            try writer.write(SecureBytes(copying: Array("secret \(i)".utf8)))
            try writer.finish()
            files.append(sink.bytes)
        }
        XCTAssertEqual(batch.sessionsStarted, 1)
        XCTAssertEqual("\(batch)", "PluginBatch(<redacted>, 200 keys wrapped, 0 files seen)")

        let headers = try files.map { try Header.parse($0).header.stanzas }
        XCTAssertTrue(headers.allSatisfy { $0.count == 2 })
        try batch.prepareUnwrap(files: headers, with: [plugin.identity])
        XCTAssertEqual(batch.sessionsStarted, 2)
        let identity = batch.identity(plugin.identity)
        for (i, file) in files.enumerated() {
            let opened = try Age.decrypt(file, identities: [identity]).plaintext
            XCTAssertEqual(String(decoding: opened.bytes, as: UTF8.self), "secret \(i)")
        }
        XCTAssertEqual(batch.sessionsStarted, 2)

        // Re-wrapping every file for a third recipient: one more session.
        let third = try PluginRecipient(parsing: try PluginFixture.keys(seed: "2", python: plugin.python).recipient)
        try batch.prepareWrapOpened(for: [third])
        let rewrapped = try files.map { try Age.rewrap($0, identities: [identity], keeping: { _ in true }, adding: [batch.recipient(third)]) }
        XCTAssertEqual(batch.sessionsStarted, 3)
        XCTAssertTrue(try rewrapped.allSatisfy { try Header.parse($0).header.stanzas.count == 3 })

        // Unprepared, each file is a session of its own, and the key still opens.
        let unprepared = PluginBatch(client: plugin.client())
        let single = try Age.encrypt(SecureBytes(copying: [1, 2, 3]), to: [unprepared.recipient(plugin.recipient)])
        XCTAssertEqual(try Age.decrypt(single, identities: [unprepared.identity(plugin.identity)]).plaintext.bytes, [1, 2, 3])
        XCTAssertEqual(unprepared.sessionsStarted, 2)
        // Another plugin identity's file is "not mine", not an error.
        let stranger = try PluginIdentity(parsing: Array(try PluginFixture.keys(seed: "9", python: plugin.python).identity.utf8))
        XCTAssertThrowsError(try Age.decrypt(single, identities: [unprepared.identity(stranger)])) {
            XCTAssertEqual($0 as? AgeError, .noIdentityMatched)
        }
    }

    /// An identity given as a recipient reaches the plugin as add-identity.
    func testIdentityAsRecipient() throws {
        let plugin = try PluginFixture()
        let client = plugin.client()
        let key = SecureBytes.random(count: 16)
        let stanzas = try client.wrap(fileKeys: [key], for: [], identities: [plugin.identity])
        XCTAssertEqual(try client.unwrap(files: stanzas, with: [plugin.identity])[0]?.bytes, key.bytes)
        XCTAssertEqual(plugin.sessions.first, "recipient-v1 files=1 recipients=0 identities=1")
    }

    /// msg, confirm, request-public and request-secret reach the prompter;
    /// the PIN reaches the plugin (which refuses a wrong one).
    func testPromptsReachThePrompter() throws {
        let plugin = try PluginFixture()
        let prompter = RecordingPrompter(pin: "123456")
        let client = plugin.client(mode: "prompts", prompter: prompter, extra: ["COFFERTEST_PIN": "123456"])
        let keys = (0..<3).map { _ in SecureBytes.random(count: 16) }
        let stanzas = try client.wrap(fileKeys: keys, for: [plugin.recipient])
        let opened = try client.unwrap(files: stanzas, with: [plugin.identity])
        XCTAssertEqual(opened.count, 3)
        let once = ["msg: touch your coffertest key", "confirm: use the coffertest key? [Yes please/No thanks]",
                    "public: your name?", "secret: PIN for coffertest:"]
        XCTAssertEqual(prompter.seen, once + once, "one round of prompts per session, not per file")

        let wrongPIN = plugin.client(mode: "prompts", prompter: RecordingPrompter(pin: "000000"), extra: ["COFFERTEST_PIN": "123456"])
        XCTAssertThrowsError(try wrongPIN.unwrap(files: stanzas, with: [plugin.identity])) {
            XCTAssertEqual($0 as? PluginError, .reported(plugin: "coffertest", about: .internal, message: "wrong PIN"))
        }
        // No prompter: every request is answered fail, and the plugin gives up.
        XCTAssertThrowsError(try plugin.client(mode: "prompts").wrap(fileKeys: keys, for: [plugin.recipient])) {
            guard case .failed(_, .exited(status: 2), let stderr)? = $0 as? PluginError else { return XCTFail("\($0)") }
            XCTAssertTrue(stderr.contains("msg answered fail"), stderr)
        }
    }

    /// Only absolute PATH entries are searched: never the working directory.
    func testPluginLookupIgnoresTheWorkingDirectory() throws {
        let plugin = try PluginFixture()
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(plugin.bin))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
        for path in [".", "", ":", "./", "bin", "../bin", "/nonexistent:."] {
            let client = PluginClient(searchPath: path, timeout: 2)
            XCTAssertThrowsError(try client.wrap(fileKeys: [SecureBytes.random(count: 16)], for: [plugin.recipient]), "PATH=\(path)") {
                XCTAssertEqual($0 as? PluginError, .notFound(plugin: "coffertest"))
            }
            XCTAssertEqual(client.sessionsStarted, 0)
        }
        let found = PluginClient(searchPath: "/nonexistent:.:" + plugin.bin, timeout: 5)
        XCTAssertEqual(try found.wrap(fileKeys: [SecureBytes.random(count: 16)], for: [plugin.recipient]).count, 1)
    }

    func testLabelsMakeARecipientStandAlone() throws {
        let plugin = try PluginFixture()
        let key = AgeWriter.newFileKey()
        let labelled = try plugin.client(mode: "labels").wrapLabeled(fileKeys: [key], for: [plugin.recipient])
        XCTAssertEqual(labelled.labels, ["coffertest-only"])

        let batch = PluginBatch(client: plugin.client(mode: "labels"))
        try batch.prepareWrap(fileKeys: [key], for: [plugin.recipient])
        XCTAssertTrue(batch.recipient(plugin.recipient).mustBeAlone)
        let sink = MemorySink()
        XCTAssertThrowsError(try AgeWriter(recipients: [batch.recipient(plugin.recipient), X25519Identity.generate().recipient],
                                           fileKey: key, to: sink))
        XCTAssertThrowsError(try PluginBatch(client: plugin.client(mode: "labels")).recipient(plugin.recipient).wrap(fileKey: key)) {
            XCTAssertEqual($0 as? PluginError, .labelsNeedBatch(plugin: "coffertest"))
        }
    }
}
