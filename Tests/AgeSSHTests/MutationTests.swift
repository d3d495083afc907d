import Foundation
import XCTest
import Age
import AgeSSH
import SSHSig

/// Randomised damage to `ssh-ed25519` stanzas and files: never a crash,
/// never a file key from a changed stanza, only `AgeError`s, and no key or
/// plaintext in their text.
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

    var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["COFFER_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max) }
    var rounds: Int { Int(ProcessInfo.processInfo.environment["COFFER_FUZZ_ROUNDS"] ?? "") ?? 600 }
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ ~".utf8)

    func testMutatedStanzasNeverOpenOrCrash() throws {
        let seed = seed
        print("ssh-ed25519 stanza fuzz: seed \(seed), \(rounds) rounds (set COFFER_FUZZ_SEED to replay)")
        var rng = SplitMix(state: seed)
        let me = SSHEd25519Identity(signingKey: .generate())
        let key = SecureBytes.random(count: 16)
        let good = try me.recipient.wrap(fileKey: key)[0]
        guard case .fileKey = try me.unwrap([good]) else { return XCTFail("the unchanged stanza does not open") }
        var outcomes: [String: Int] = [:]
        for round in 0..<rounds {
            let (stanza, what) = mutate(good, rng: &rng)
            guard stanza != good else { continue }
            do {
                switch try me.unwrap([stanza]) {
                case .fileKey: XCTFail("a changed stanza opened: \(what), seed \(seed), round \(round)")
                case .notMine: outcomes["not mine", default: 0] += 1
                }
            } catch let error as AgeError {
                guard case .invalidStanza(let type, _) = error, type == "ssh-ed25519" else {
                    return XCTFail("\(error) for \(what), seed \(seed), round \(round)")
                }
                outcomes["invalid stanza", default: 0] += 1
            } catch {
                XCTFail("non-age error \(error) for \(what), seed \(seed), round \(round)")
            }
        }
        print("  " + outcomes.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))
    }

    func mutate(_ stanza: Stanza, rng: inout SplitMix) -> (Stanza, String) {
        var out = stanza
        switch rng.next() % 6 {
        case 0:
            let arg = Int(rng.next() % 2)
            var chars = Array(out.arguments[arg].utf8)
            chars[Int(rng.next() % UInt64(chars.count))] = MutationTests.alphabet[Int(rng.next() % UInt64(MutationTests.alphabet.count))]
            out.arguments[arg] = String(decoding: chars.filter { $0 != 0x20 }.isEmpty ? [0x41] : chars.filter { $0 != 0x20 }, as: UTF8.self)
            return (out, "argument \(arg) changed")
        case 1:
            var share = Base64.decode(Array(out.arguments[1].utf8))!
            share[Int(rng.next() % 32)] ^= UInt8(1) << UInt8(rng.next() % 8)
            out.arguments[1] = Base64.encode(share)
            return (out, "share bit flipped")
        case 2:
            out.body[Int(rng.next() % UInt64(out.body.count))] ^= UInt8(1) << UInt8(rng.next() % 8)
            return (out, "body bit flipped")
        case 3:
            let length = Int(rng.next() % 64)
            out.body = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return (out, "body replaced by \(length) bytes")
        case 4:
            let count = Int(rng.next() % 4)
            out.arguments = (0..<count).map { i in i < stanza.arguments.count ? stanza.arguments[i] : "AAAA" }
            return (out, "\(count) arguments")
        default:
            var share = [UInt8](repeating: 0, count: 32)
            for i in share.indices { share[i] = UInt8(truncatingIfNeeded: rng.next()) }
            out.arguments[1] = Base64.encode(share)
            return (out, "random share")
        }
    }

    func testDamagedFilesFailClosed() throws {
        let seed = seed
        print("ssh-ed25519 file fuzz: seed \(seed), \(rounds / 2) rounds (set COFFER_FUZZ_SEED to replay)")
        var rng = SplitMix(state: seed)
        let me = SSHEd25519Identity(signingKey: .generate())
        let marker = Array("PLAINTEXT-MARKER-ssh-9c1e".utf8)
        let plaintext = marker + (0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let file = try Age.encrypt(SecureBytes(copying: plaintext), to: [SSHEd25519Identity(signingKey: .generate()).recipient, me.recipient])
        for round in 0..<(rounds / 2) {
            var mutated = file
            let what: String
            switch rng.next() % 3 {
            case 0:
                let at = Int(rng.next() % UInt64(file.count))
                mutated[at] ^= UInt8(1) << UInt8(rng.next() % 8)
                what = "bit flip at \(at)"
            case 1:
                let cut = Int(rng.next() % UInt64(file.count))
                mutated = Array(file[0..<cut])
                what = "truncated to \(cut)"
            default:
                mutated += (0...(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                what = "bytes appended"
            }
            do {
                _ = try Age.decrypt(mutated, identities: [me])
                XCTFail("damage accepted: \(what), seed \(seed), round \(round)")
            } catch let error as AgeError {
                XCTAssertFalse("\(error)".contains(String(decoding: marker, as: UTF8.self)))
            } catch {
                XCTFail("non-age error \(error) for \(what), seed \(seed), round \(round)")
            }
        }
    }
}
