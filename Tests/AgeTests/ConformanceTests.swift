import XCTest
@testable import Age

/// Runs every C2SP age test-kit vector through the decryption path and checks
/// the outcome class and the hash of all plaintext released before any error.
final class ConformanceTests: XCTestCase {
    /// Vectors needing post-quantum hybrid identities, which libsodium cannot
    /// provide; they must fail cleanly as unsupported, and are counted apart.
    static let expectedUnsupported = 19

    func testEveryVectorGivesItsExpectedOutcome() throws {
        let vectors = try TestVector.loadAll()
        var passed = 0, unsupported = 0
        var failures: [String] = []
        for vector in vectors {
            switch run(vector) {
            case .passed: passed += 1
            case .unsupported: unsupported += 1
            case .failed(let why): failures.append("\(vector.name): \(why)")
            }
        }
        print("age testkit: \(vectors.count) vectors, \(passed) passed, \(unsupported) unsupported (post-quantum), \(failures.count) failed")
        for failure in failures { print("  FAIL \(failure)") }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(unsupported, Self.expectedUnsupported)
        XCTAssertEqual(passed + unsupported, vectors.count)
        XCTAssertGreaterThanOrEqual(vectors.count, 143)
    }

    enum Outcome { case passed, unsupported, failed(String) }

    func run(_ vector: TestVector) -> Outcome {
        var identities: [Identity] = []
        for text in vector.identities {
            do {
                identities.append(try X25519Identity(parsing: text))
            } catch AgeError.unsupportedKeyType {
                // Only hybrid keys may be unsupported; anything else must parse.
                return text.hasPrefix("AGE-SECRET-KEY-PQ-1") ? .unsupported : .failed("unsupported \(text.prefix(20))")
            } catch {
                return .failed("identity did not parse: \(error)")
            }
        }
        for passphrase in vector.passphrases {
            identities.append(ScryptIdentity(passphrase: SecureBytes(copying: Array(passphrase.utf8))))
        }

        var released: [UInt8] = []
        var outcome: AgeError?
        do {
            let reader = try AgeReader(
                from: MemorySource(vector.body), identities: identities, armor: vector.armored ? .required : .forbidden)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                released += buffer[0..<n]
            }
        } catch let error as AgeError {
            outcome = error
        } catch {
            return .failed("non-age error \(error)")
        }

        let expectedKind: AgeError.Kind? = switch vector.expect {
        case .success: nil
        case .noMatch: .noMatch
        case .hmacFailure: .headerMAC
        case .headerFailure: .header
        case .payloadFailure: .payload
        case .armorFailure: .armor
        }
        if outcome?.kind != expectedKind {
            return .failed("expected \(vector.expect.rawValue), got \(outcome.map { "\($0)" } ?? "success")")
        }
        if vector.expect == .success || vector.expect == .payloadFailure {
            let hash = SHA256.hex(released)
            if hash != vector.payloadHash { return .failed("payload hash \(hash) != \(vector.payloadHash ?? "-")") }
        }
        return .passed
    }

    /// Any vector whose header parses must re-encode byte for byte from its
    /// stanzas and file key: our writer produces exactly the canonical form.
    func testHeadersRoundTripThroughTheEncoder() throws {
        var checked = 0
        for vector in try TestVector.loadAll() where !vector.armored && vector.expect != .headerFailure {
            guard let key = vector.fileKey, vector.expect != .hmacFailure else { continue }
            let (header, offset) = try Header.parse(vector.body)
            let encoded = Header.encode(stanzas: header.stanzas, fileKey: SecureBytes(copying: key))
            XCTAssertEqual(encoded, Array(vector.body[0..<offset]), vector.name)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 40)
    }

    /// Armored vectors that succeed re-armor to the same text (modulo the
    /// surrounding whitespace and line endings the reader tolerates).
    func testArmorRoundTrips() throws {
        var checked = 0
        for vector in try TestVector.loadAll() where vector.armored && vector.expect == .success {
            let text = String(decoding: vector.body, as: UTF8.self)
            let canonical = text.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
            let reader = ArmorReader(BufferedReader(MemorySource(vector.body)))
            var raw: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 100)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                raw += buffer[0..<n]
            }
            let sink = MemorySink()
            let writer = ArmorWriter(to: sink)
            try raw.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
            XCTAssertEqual(String(decoding: sink.bytes, as: UTF8.self), canonical, vector.name)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 4)
    }
}
