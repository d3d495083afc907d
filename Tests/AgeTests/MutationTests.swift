import XCTest
@testable import Age

/// Randomised damage to valid files must always fail closed with an AgeError,
/// never succeed, never crash, and never put plaintext in the error text.
final class MutationTests: XCTestCase {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    let marker = Array("PLAINTEXT-MARKER-7f3a".utf8)

    /// Every single-bit flip of a small armored file is refused: armor has
    /// no MAC of its own, so only strict decoding keeps it non-malleable.
    func testEveryBitFlipOfAnArmoredFileIsRefused() throws {
        let identity = X25519Identity.generate()
        let file = try Age.encrypt(SecureBytes.random(count: 200), to: [identity.recipient], armored: true)
        var accepted: [String] = []
        for index in file.indices {
            for bit in 0..<8 {
                var mutated = file
                mutated[index] ^= UInt8(1) << UInt8(bit)
                // A missing final newline is tolerated by the armor rules; flipping it is a real change.
                if (try? Age.decrypt(mutated, identities: [identity])) != nil { accepted.append("\(index):\(bit)") }
            }
        }
        XCTAssertEqual(accepted, [])
    }

    func testRandomMutationsFailClosed() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["COFFER_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        let rounds = Int(ProcessInfo.processInfo.environment["COFFER_FUZZ_ROUNDS"] ?? "") ?? 600
        print("mutation fuzz: seed \(seed), \(rounds) rounds per file (set COFFER_FUZZ_SEED to replay)")
        var rng = SplitMix(state: seed)
        let identities = (0..<3).map { _ in X25519Identity.generate() }
        var plaintext = [UInt8](repeating: 0, count: 70_000)
        for i in plaintext.indices { plaintext[i] = UInt8(truncatingIfNeeded: rng.next()) }
        plaintext.replaceSubrange(0..<marker.count, with: marker)
        let secret = SecureBytes(copying: plaintext)

        for armored in [false, true] {
            let file = try Age.encrypt(secret, to: identities.map(\.recipient), armored: armored)
            var failuresByKind: [AgeError.Kind: Int] = [:]
            for round in 0..<rounds {
                let (mutated, what) = mutate(file, armored: armored, rng: &rng)
                guard mutated != file else { continue }
                do {
                    _ = try Age.decrypt(mutated, identities: [identities[round % 3]])
                    XCTFail("mutation accepted: \(what), armored \(armored), seed \(seed), round \(round)")
                } catch let error as AgeError {
                    failuresByKind[error.kind, default: 0] += 1
                    let text = "\(error)"
                    XCTAssertFalse(text.isEmpty)
                    XCTAssertFalse(text.contains(String(decoding: marker, as: UTF8.self)))
                } catch {
                    XCTFail("non-age error \(error) for \(what)")
                }
            }
            print("  armored=\(armored): " + failuresByKind.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", "))
        }
    }

    func mutate(_ file: [UInt8], armored: Bool, rng: inout SplitMix) -> ([UInt8], String) {
        var out = file
        switch rng.next() % 4 {
        case 0:
            let at = Int(rng.next() % UInt64(out.count))
            out[at] ^= UInt8(1) << UInt8(rng.next() % 8)
            return (out, "bit flip at \(at)")
        case 1:
            // Armor tolerates a missing final newline, so cut at least two bytes there.
            let cut = Int(rng.next() % UInt64(out.count - (armored ? 1 : 0)))
            return (Array(out[0..<cut]), "truncated to \(cut)")
        case 2:
            var extra = (0..<(1 + Int(rng.next() % 40))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Armor tolerates trailing whitespace; make sure something else is appended.
            extra.append(UInt8(ascii: "x"))
            return (out + extra, "appended \(extra.count) bytes")
        default:
            return (swapStanzas(file, armored: armored, rng: &rng), "stanzas swapped")
        }
    }

    /// Re-orders the stanzas and keeps the original MAC line.
    func swapStanzas(_ file: [UInt8], armored: Bool, rng: inout SplitMix) -> [UInt8] {
        var binary = file
        if armored {
            let reader = ArmorReader(BufferedReader(MemorySource(file)))
            binary = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while let n = try? buffer.withUnsafeMutableBytes({ try reader.read(into: $0) }), n > 0 { binary += buffer[0..<n] }
        }
        guard let (header, offset) = try? Header.parse(binary) else { return file }
        var stanzas = header.stanzas
        let i = Int(rng.next() % UInt64(stanzas.count))
        stanzas.swapAt(i, (i + 1) % stanzas.count)
        var encoded = Header.versionLine + [0x0A]
        for s in stanzas { s.encode(into: &encoded) }
        let macLine = binary[header.authenticatedBytes.count..<offset]
        let result = encoded + Array("---".utf8) + macLine + binary[offset...]
        guard armored else { return result }
        let sink = MemorySink()
        let writer = ArmorWriter(to: sink)
        try? result.withUnsafeBytes { try writer.write($0) }
        try? writer.finish()
        return sink.bytes
    }
}
