import XCTest
@testable import Age

final class PrimitiveTests: XCTestCase {
    /// The example key pair from the age specification.
    func testSpecExampleKeyPair() throws {
        let identity = try X25519Identity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        XCTAssertEqual(identity.recipient.encoded, "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        identity.encodedSecretKey().withUnsafeBytes {
            XCTAssertEqual(String(decoding: $0, as: UTF8.self), "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        }
    }

    /// An identity file line by line: comments, blank and indented lines,
    /// CRLF and a last line without a newline; a bad line is named by number.
    func testIdentityFileLines() throws {
        let key = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        let file = "# created: today\r\n\n  \(key) \t\r\n\n# public key: age1…\n\(key)"
        let parsed = try KeyFile.parseIdentities(SecureBytes(copying: Array(file.utf8)))
        XCTAssertEqual(parsed.map(\.recipient.encoded), Array(repeating: "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", count: 2))
        XCTAssertThrowsError(try KeyFile.parseIdentities(SecureBytes(copying: Array("\(key)\n\nnot a key\n".utf8)))) { error in
            XCTAssertEqual(error as? AgeError, .invalidIdentity("line 3 is not an AGE-SECRET-KEY-1 identity"))
        }
        XCTAssertThrowsError(try KeyFile.parseIdentities(SecureBytes(copying: Array("# only a comment\n".utf8))))
        XCTAssertEqual(try KeyFile.parseIdentities(SecureBytes(copying: []), allowingNone: true).count, 0)
    }

    func testBech32RejectsMixedCaseBadChecksumAndWrongKind() {
        let good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
        XCTAssertNoThrow(try X25519Recipient(parsing: good))
        XCTAssertThrowsError(try X25519Recipient(parsing: "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwJ"))
        XCTAssertThrowsError(try X25519Recipient(parsing: String(good.dropLast()) + "k"))
        XCTAssertThrowsError(try X25519Recipient(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"))
        XCTAssertThrowsError(try X25519Identity(parsing: good))
        // The identity's error never quotes the (secret) input.
        do {
            _ = try X25519Identity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEY")
            XCTFail("bad checksum accepted")
        } catch {
            XCTAssertFalse("\(error)".contains("GFPYYSJZ"))
        }
    }

    func testPostQuantumKeysAreUnsupportedNotInvalid() {
        XCTAssertThrowsError(try X25519Identity(parsing: "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG")) {
            guard case AgeError.unsupportedKeyType = $0 else { return XCTFail("\($0)") }
        }
    }

    /// RFC 5869, test cases 1 and 3 (the latter with empty salt and info).
    func testHKDFMatchesRFC5869() {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let salt = Hex.decode("000102030405060708090a0b0c")
        let info = Hex.decode("f0f1f2f3f4f5f6f7f8f9")
        let okm = ikm.withUnsafeBytes { i in salt.withUnsafeBytes { s in HKDF.deriveKey(ikm: i, salt: s, info: info, length: 42) } }
        okm.withUnsafeBytes {
            XCTAssertEqual(Hex.encode($0), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        }
        let okm3 = ikm.withUnsafeBytes { i in [UInt8]().withUnsafeBytes { s in HKDF.deriveKey(ikm: i, salt: s, info: [], length: 42) } }
        okm3.withUnsafeBytes {
            XCTAssertEqual(Hex.encode($0), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
        }
    }

    func testBase64IsStrictAndCanonical() {
        XCTAssertEqual(Base64.decode(Array("AAA".utf8)), [0, 0])
        XCTAssertNil(Base64.decode(Array("AAB".utf8)), "non-zero trailing bits")
        XCTAssertNil(Base64.decode(Array("AA==".utf8)), "padding in unpadded base64")
        XCTAssertNil(Base64.decode(Array("A".utf8)))
        XCTAssertNil(Base64.decode(Array("AA A".utf8)))
        XCTAssertEqual(Base64.decode(Array("AA==".utf8), padded: true), [0])
        XCTAssertNil(Base64.decode(Array("AB==".utf8), padded: true))
        XCTAssertNil(Base64.decode(Array("AA".utf8), padded: true))
        // Bytes outside the alphabet never alias to it (libsodium 1.0.18 sign-extends 0xAF to '/').
        for high in UInt8(0x80)...UInt8(0xFF) {
            XCTAssertNil(Base64.decode([UInt8(ascii: "A"), UInt8(ascii: "A"), high, UInt8(ascii: "A")]), "byte \(high)")
            XCTAssertNil(Base64.decode([UInt8(ascii: "A"), UInt8(ascii: "A"), high, UInt8(ascii: "A")], padded: true), "byte \(high)")
        }
        XCTAssertEqual(Base64.encode([1, 2, 3, 4]), "AQIDBA")
        XCTAssertEqual(Base64.encode([1, 2, 3, 4], padded: true), "AQIDBA==")
    }

    func testScryptWorkFactorGrammar() {
        for good in ["1", "9", "18", "22"] { XCTAssertNoThrow(try Scrypt.parseWorkFactor(good), good) }
        for bad in ["0", "018", "+18", "-1", "0x12", "18 ", "1a", "", "99999999999999999999"] {
            XCTAssertThrowsError(try Scrypt.parseWorkFactor(bad), bad)
        }
    }

    func testSecureBytesWipesWhatItTruncates() {
        let bytes = SecureBytes(copying: [1, 2, 3, 4, 5])
        bytes.truncate(to: 2)
        XCTAssertEqual(bytes.count, 2)
        bytes.withUnsafeBytes { XCTAssertEqual(Array($0), [1, 2]) }
        XCTAssertTrue(bytes.constantTimeEquals(SecureBytes(copying: [1, 2])))
        XCTAssertFalse(bytes.constantTimeEquals(SecureBytes(copying: [1, 3])))
        XCTAssertEqual(SecureBytes.random(count: 32).count, 32)
    }

    /// Small buffers share the locked pool: many alive at once (more than one
    /// chunk of slots) keep their own bytes, and a reused slot starts zeroed.
    func testSecureBytesFromTheLockedPoolAreSeparateAndStartZeroed() {
        let sizes = [0, 1, 32, LockedMemory.slotSize, LockedMemory.slotSize + 1, 5000]
        var alive: [SecureBytes] = []
        for index in 0..<600 {
            let bytes = SecureBytes(count: sizes[index % sizes.count])
            bytes.withUnsafeBytes { XCTAssertTrue($0.allSatisfy { $0 == 0 }) }
            bytes.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index)) }
            alive.append(bytes)
        }
        for (index, bytes) in alive.enumerated() {
            bytes.withUnsafeBytes { XCTAssertTrue($0.allSatisfy { $0 == UInt8(truncatingIfNeeded: index) }) }
        }
        alive.removeAll()
        for size in sizes {
            SecureBytes(count: size).withUnsafeBytes { XCTAssertTrue($0.allSatisfy { $0 == 0 }, "size \(size)") }
        }
    }

    func testRoundTripAcrossChunkBoundaries() throws {
        let identities = (0..<3).map { _ in X25519Identity.generate() }
        for size in [0, 1, 65535, 65536, 65537, 2 * 65536, 2 * 65536 + 1] {
            for armored in [false, true] {
                let plaintext = SecureBytes.random(count: size)
                let file = try Age.encrypt(plaintext, to: identities.map(\.recipient), armored: armored)
                for identity in identities {
                    let (opened, header) = try Age.decrypt(file, identities: [identity])
                    XCTAssertTrue(opened.constantTimeEquals(plaintext), "size \(size) armored \(armored)")
                    XCTAssertEqual(header.stanzas.count, 3)
                }
            }
        }
    }

    /// Sizes around the parallel batch (16 chunks) and with a full final chunk.
    func testRoundTripAcrossBatchBoundaries() throws {
        let identity = X25519Identity.generate()
        let chunk = 65536, batch = 16 * chunk
        for size in [batch - 1, batch, batch + 1, batch + chunk, 2 * batch, 2 * batch + chunk + 7] {
            let plaintext = SecureBytes.random(count: size)
            let file = try Age.encrypt(plaintext, to: [identity.recipient])
            XCTAssertEqual(file.count, try Header.parse(file).payloadOffset + 16 + size + 16 * max(1, (size + chunk - 1) / chunk))
            XCTAssertTrue(try Age.decrypt(file, identities: [identity]).plaintext.constantTimeEquals(plaintext), "size \(size)")
        }
    }

    /// A source that returns short, irregular reads, as pipes do.
    final class TricklingSource: ByteSource {
        let bytes: [UInt8]
        var offset = 0, step = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            step += 1
            let n = min(buffer.count, bytes.count - offset, [1, 7, 65536, 100_000, 3][step % 5])
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
    }

    /// Streaming from a source (no intermediate copy) produces a valid file for
    /// sizes that end mid-chunk, on a chunk edge, and exactly on a batch edge.
    func testWriteFromSourceAndToSink() throws {
        let identity = X25519Identity.generate()
        let chunk = 65536, batch = 16 * chunk
        for size in [0, 5, chunk, batch, batch + 1, 3 * batch, 3 * batch + 9] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let sink = MemorySink()
            let writer = try AgeWriter(recipients: [identity.recipient], to: sink)
            try writer.write(from: TricklingSource(plaintext))
            try writer.finish()
            let reader = try AgeReader(from: MemorySource(sink.bytes), identities: [identity])
            let out = MemorySink()
            try reader.write(to: out)
            XCTAssertEqual(out.bytes, plaintext, "size \(size)")
        }
    }

    /// Damage deep in a multi-batch payload releases exactly the chunks before
    /// it, in order, and then fails; nothing after the damage is released.
    func testStreamingReleasesOnlyChunksBeforeTheDamage() throws {
        let identity = X25519Identity.generate()
        let chunk = 65536
        let plaintext = SecureBytes.random(count: 40 * chunk + 100)
        var file = try Age.encrypt(plaintext, to: [identity.recipient])
        let payload = try Header.parse(file).payloadOffset + 16
        for damaged in [0, 15, 16, 17, 31, 40] {
            var copy = file
            copy[payload + damaged * (chunk + 16) + 5] ^= 0x40
            let reader = try AgeReader(from: MemorySource(copy), identities: [identity])
            var released: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 10_000)
            do {
                while true {
                    let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                    if n == 0 { break }
                    released += buffer[0..<n]
                }
                XCTFail("damage in chunk \(damaged) went unnoticed")
            } catch let error as AgeError {
                XCTAssertEqual(error, .payloadCorrupted(chunk: damaged, reason: "authentication failed (tampered or truncated)"))
            }
            plaintext.withUnsafeBytes { XCTAssertEqual(released, Array($0.prefix(damaged * chunk)), "chunk \(damaged)") }
        }
        file.removeLast(16 + 100)
        XCTAssertThrowsError(try Age.decrypt(file, identities: [identity])) {
            XCTAssertEqual(($0 as? AgeError)?.kind, .payload)
        }
    }

    /// Re-wrapping changes the readers and keeps the payload bytes.
    func testRewrapKeepsThePayloadAndChangesTheReaders() throws {
        let a = X25519Identity.generate(), b = X25519Identity.generate(), c = X25519Identity.generate()
        let value = SecureBytes.random(count: 100_000)
        let file = try Age.encrypt(value, to: [a.recipient, b.recipient])
        let rewrapped = try Age.rewrap(file, identities: [b], adding: [a.recipient, c.recipient])
        let oldPayload = file[try Header.parse(file).payloadOffset...]
        let newPayload = rewrapped[try Header.parse(rewrapped).payloadOffset...]
        XCTAssertTrue(oldPayload.elementsEqual(newPayload))
        XCTAssertTrue(try Age.decrypt(rewrapped, identities: [c]).plaintext.constantTimeEquals(value))
        XCTAssertTrue(try Age.decrypt(rewrapped, identities: [a]).plaintext.constantTimeEquals(value))
        XCTAssertThrowsError(try Age.decrypt(rewrapped, identities: [b])) { XCTAssertEqual($0 as? AgeError, .noIdentityMatched) }
        XCTAssertThrowsError(try Age.rewrap(file, identities: [c], adding: [c.recipient])) { XCTAssertEqual($0 as? AgeError, .noIdentityMatched) }
    }

    /// Kept stanzas are copied byte for byte; only the new reader's is added.
    func testRewrapCanKeepStanzasAndAddAReader() throws {
        let a = X25519Identity.generate(), b = X25519Identity.generate()
        let value = SecureBytes.random(count: 1000)
        let file = try Age.encrypt(value, to: [a.recipient])
        let rewrapped = try Age.rewrap(file, identities: [a], keeping: { $0.type == "X25519" }, adding: [b.recipient])
        let old = try Header.parse(file).header, new = try Header.parse(rewrapped).header
        XCTAssertEqual(new.stanzas.count, 2)
        XCTAssertEqual(new.stanzas[0], old.stanzas[0])
        XCTAssertTrue(try Age.decrypt(rewrapped, identities: [a]).plaintext.constantTimeEquals(value))
        XCTAssertTrue(try Age.decrypt(rewrapped, identities: [b]).plaintext.constantTimeEquals(value))
        XCTAssertThrowsError(try Age.rewrap(file, identities: [a], adding: [])) {
            XCTAssertEqual($0 as? AgeError, .invalidRecipientSet("no recipients"))
        }
    }

    func testHeadersWithTooManyStanzasAreRefused() {
        var header = Array("age-encryption.org/v1\n".utf8)
        for _ in 0...Header.maxStanzas { header += Array("-> x\n\n".utf8) }
        header += Array("--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".utf8)
        XCTAssertThrowsError(try Header.parse(header)) {
            XCTAssertEqual($0 as? AgeError, .malformedHeader("more than \(Header.maxStanzas) stanzas"))
        }
    }

    func testPassphraseRoundTripAndWrongPassphrase() throws {
        let pass = SecureBytes(copying: Array("correct horse".utf8))
        let file = try Age.encrypt(SecureBytes(copying: Array("s3cret".utf8)), to: [ScryptRecipient(passphrase: pass, workFactor: 10)])
        let (plain, _) = try Age.decrypt(file, identities: [ScryptIdentity(passphrase: pass)])
        plain.withUnsafeBytes { XCTAssertEqual(Array($0), Array("s3cret".utf8)) }
        XCTAssertThrowsError(try Age.decrypt(file, identities: [ScryptIdentity(passphrase: SecureBytes(copying: Array("wrong".utf8)))])) {
            XCTAssertEqual($0 as? AgeError, .noIdentityMatched)
        }
        XCTAssertThrowsError(try Age.decrypt(file, identities: [ScryptIdentity(passphrase: pass, maxWorkFactor: 9)])) {
            XCTAssertEqual($0 as? AgeError, .workFactorTooHigh(logN: 10, max: 9))
        }
        // A passphrase cannot share a header with another recipient.
        XCTAssertThrowsError(try Age.encrypt(SecureBytes(count: 1), to: [
            ScryptRecipient(passphrase: pass, workFactor: 10), X25519Identity.generate().recipient,
        ]))
    }

    /// Extra stanzas are authenticated by the header MAC and skipped by identities.
    func testExtraStanzasAreAuthenticated() throws {
        let identity = X25519Identity.generate()
        let extra = Stanza(type: "coffer.example/test", arguments: ["a", "b"], body: [1, 2, 3])
        let file = try Age.encrypt(SecureBytes(copying: [42]), to: [identity.recipient], extraStanzas: [extra])
        let (_, header) = try Age.decrypt(file, identities: [identity])
        XCTAssertEqual(header.stanzas.last, extra)
        // Changing the extra stanza's argument breaks the MAC.
        var tampered = file
        let needle = Array("coffer.example/test a b".utf8)
        let at = (0...(tampered.count - needle.count)).first { Array(tampered[$0..<($0 + needle.count)]) == needle }!
        tampered[at + needle.count - 1] = UInt8(ascii: "c")
        XCTAssertThrowsError(try Age.decrypt(tampered, identities: [identity])) {
            XCTAssertEqual($0 as? AgeError, .headerMACMismatch)
        }
    }
}
