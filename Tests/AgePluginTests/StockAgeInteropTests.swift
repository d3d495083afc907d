import Age
import AgePlugin
import Foundation
import XCTest

/// The test plugin speaks the real protocol: stock age (Debian's 1.1.1)
/// encrypts and decrypts with it, and our client and stock age read each
/// other's files through it.
final class StockAgeInteropTests: XCTestCase {
    private var plugin: PluginFixture!
    private var age: String!

    override func setUpWithError() throws {
        plugin = try PluginFixture()
        age = try PluginFixture.require("age", package: "age")
    }

    @discardableResult
    private func stockAge(_ arguments: [String]) throws -> String {
        try PluginFixture.run([age] + arguments, environment: ["PATH": plugin.agePath, "COFFERTEST_SESSIONS": plugin.sessionsLog])
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = plugin.directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testStockAgeEncryptsAndDecryptsWithThePlugin() throws {
        let plain = try write("plain", Array("stock to stock\n".utf8))
        let identityFile = try write("identity.txt", Array((plugin.identityText + "\n").utf8))
        try stockAge(["-r", plugin.recipient.encoded, "-o", plugin.directory + "/stock.age", plain])
        XCTAssertEqual(try stockAge(["-d", "-i", identityFile, plugin.directory + "/stock.age"]), "stock to stock\n")
        XCTAssertEqual(plugin.sessions.map { String($0.prefix(12)) }, ["recipient-v1", "identity-v1 "])
    }

    func testOurClientReadsStockAgesFiles() throws {
        var files: [[UInt8]] = []
        for i in 0..<3 {
            let plain = try write("plain\(i)", Array("from stock age \(i)".utf8))
            try stockAge(["-r", plugin.recipient.encoded, "-o", plain + ".age", plain])
            files.append(Array(try Data(contentsOf: URL(fileURLWithPath: plain + ".age"))))
        }
        let batch = PluginBatch(client: plugin.client())
        try batch.prepareUnwrap(files: try files.map { try Header.parse($0).header.stanzas }, with: [plugin.identity])
        for (i, file) in files.enumerated() {
            let plain = try Age.decrypt(file, identities: [batch.identity(plugin.identity)]).plaintext
            XCTAssertEqual(String(decoding: plain.bytes, as: UTF8.self), "from stock age \(i)")
        }
        XCTAssertEqual(batch.sessionsStarted, 1)
    }

    func testStockAgeReadsOurClientsFiles() throws {
        let batch = PluginBatch(client: plugin.client())
        let keys = (0..<3).map { _ in AgeWriter.newFileKey() }
        try batch.prepareWrap(fileKeys: keys, for: [plugin.recipient])
        let identityFile = try write("identity.txt", Array((plugin.identityText + "\n").utf8))
        for (i, key) in keys.enumerated() {
            let sink = MemorySink()
            let writer = try AgeWriter(recipients: [batch.recipient(plugin.recipient)], fileKey: key, to: sink)
            try writer.write(SecureBytes(copying: Array("from coffer \(i)".utf8)))
            try writer.finish()
            let path = try write("ours\(i).age", sink.bytes)
            XCTAssertEqual(try stockAge(["-d", "-i", identityFile, path]), "from coffer \(i)")
        }
        XCTAssertEqual(batch.sessionsStarted, 1)
    }
}
