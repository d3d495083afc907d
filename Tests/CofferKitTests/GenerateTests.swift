import Foundation
import XCTest
import Age
@testable import CofferKit

/// Random values (Generate/) and `planGenerate` (Operations/Generate.swift).
final class GenerateRecipeTests: XCTestCase {
    func testEFFWordListIsTheWholeListOnce() {
        let words = WordList.eff.words
        XCTAssertEqual(words.count, 7776)
        XCTAssertEqual(Set(words).count, 7776, "a word appears twice")
        XCTAssertEqual(words.first, "abacus")
        XCTAssertEqual(words.last, "zoom")
        XCTAssertEqual(words, words.sorted(), "the list is no longer in its published order")
        for word in words {
            XCTAssertNotNil(word.range(of: "^[a-z]+(-[a-z]+)?$", options: .regularExpression), word)
        }
        XCTAssertEqual(WordList.eff.longest, words.map(\.utf8.count).max())
    }

    func testEachCharsetDrawsOnlyItsAlphabetAtTheAskedLength() throws {
        let expected: [Charset: String] = [
            .alnum: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            .symbols: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + ##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##,
            .hex: "0123456789abcdef",
            .base64: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        ]
        for (charset, alphabet) in expected {
            XCTAssertEqual(Set(charset.alphabet ?? []).count, alphabet.utf8.count, "\(charset) repeats a character")
            for length in [1, 7, 32, 1024] {
                let value = text(try Recipe(charset, count: length).generate())
                XCTAssertEqual(value.utf8.count, length, "\(charset) \(length)")
                XCTAssertTrue(value.unicodeScalars.allSatisfy { alphabet.unicodeScalars.contains($0) }, "\(charset): \(value)")
            }
            // Over many draws every character turns up, none far more often than
            // its share (a chi-square test; the bound fails a fair source about once in 10^6 runs).
            let draws = 400 * alphabet.utf8.count
            let value = text(try Recipe(charset, count: 1024).generateMany(draws))
            var counts: [Character: Int] = [:]
            for c in value { counts[c, default: 0] += 1 }
            XCTAssertEqual(Set(counts.keys), Set(alphabet), "\(charset) never drew some characters")
            let mean = Double(draws) / Double(alphabet.count)
            let chiSquare = counts.values.reduce(0) { $0 + pow(Double($1) - mean, 2) / mean }
            let k = Double(alphabet.count - 1)
            XCTAssertLessThan(chiSquare, k + 7 * (2 * k).squareRoot() + 20, "\(charset) looks biased")
        }
    }

    func testWordsAreFromTheListJoinedByHyphens() throws {
        let list = Set(WordList.eff.words)
        for count in [1, 6, 64] {
            let value = text(try Recipe(.words, count: count).generate())
            XCTAssertTrue(splits(Array(value.split(separator: "-", omittingEmptySubsequences: false).map(String.init)),
                                 into: count, from: list), "\(value) is not \(count) listed words joined by -")
        }
    }

    /// True when `parts` (the value cut at every hyphen) regroup into exactly
    /// `count` listed words; a listed word may hold a hyphen itself (drop-down).
    private func splits(_ parts: [String], into count: Int, from list: Set<String>) -> Bool {
        guard !parts.isEmpty else { return count == 0 }
        guard count > 0 else { return false }
        for take in 1...min(2, parts.count) where list.contains(parts.prefix(take).joined(separator: "-")) {
            if splits(Array(parts.dropFirst(take)), into: count - 1, from: list) { return true }
        }
        return false
    }

    func testDefaultsBoundsAndEntropy() throws {
        XCTAssertEqual(try Recipe(.alnum).count, 32)
        XCTAssertEqual(try Recipe(.words).count, 6)
        XCTAssertEqual(try Recipe(.alnum).entropyBits, 32 * log2(62), accuracy: 1e-9)
        XCTAssertEqual(try Recipe(.symbols, count: 20).entropyBits, 20 * log2(94), accuracy: 1e-9)
        XCTAssertEqual(try Recipe(.hex, count: 64).entropyBits, 256, accuracy: 1e-9)
        XCTAssertEqual(try Recipe(.base64, count: 10).entropyBits, 60, accuracy: 1e-9)
        XCTAssertEqual(try Recipe(.words).entropyBits, 6 * log2(7776), accuracy: 1e-9)
        for (charset, count) in [(Charset.alnum, 0), (.hex, -1), (.base64, 1025), (.words, 0), (.words, 65)] {
            XCTAssertThrowsError(try Recipe(charset, count: count), "\(charset) \(count)") { error in
                guard case RecipeError.countOutOfRange(count, charset, _)? = error as? RecipeError else {
                    return XCTFail("\(error)")
                }
            }
        }
        XCTAssertNoThrow(try Recipe(.symbols, count: 1024))
        XCTAssertNoThrow(try Recipe(.words, count: 64))
    }

    func testTwoValuesDiffer() throws {
        for charset in Charset.allCases {
            let recipe = try Recipe(charset)
            XCTAssertFalse(recipe.generate().constantTimeEquals(recipe.generate()), "\(charset)")
        }
    }

    private func text(_ value: SecureBytes) -> String { value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

private extension Recipe {
    /// `total` characters drawn `count` at a time.
    func generateMany(_ total: Int) -> SecureBytes {
        var all: [UInt8] = []
        while all.count < total { all += generate().withUnsafeBytes { Array($0) } }
        return SecureBytes(copying: all.prefix(total))
    }
}

final class GenerateOperationTests: VaultTestCase {
    func testGenerateCommitsOneNewSecretForItsReaders() throws {
        let before = try commitCount()
        var (plan, generated) = try vault.planGenerate(id("db/password"), try Recipe(.alnum), replacing: false, me: mine)
        XCTAssertTrue(plan.risks.isEmpty)
        XCTAssertEqual(plan.action, .generate)
        plan.confirm()
        let outcome = try vault.apply(plan, identities: [])
        XCTAssertEqual(outcome.written, [id("db/password")])
        XCTAssertEqual(try commitCount(), before + 1)
        XCTAssertEqual(try value("db/password"), string(generated))
        let message = try git("log", "-1", "--format=%B")
        XCTAssertTrue(message.hasPrefix("coffer: generate db/password\n"), message)
        XCTAssertTrue(message.contains("Coffer-Action: generate\n"), message)
        XCTAssertFalse(message.contains(string(generated)))
    }

    func testAnExistingIDIsRefusedUnlessReplacing() throws {
        try set(["a": "old"])
        let before = try commitCount()
        assertThrows(.alreadyExists(id: "a")) { try vault.planGenerate(id("a"), try Recipe(.hex), replacing: false, me: mine) }
        XCTAssertEqual(try value("a"), "old")
        let (plan, generated) = try vault.planGenerate(id("a"), try Recipe(.hex), replacing: true, me: mine)
        _ = try vault.apply(plan, identities: [])
        XCTAssertEqual(try value("a"), string(generated))
        XCTAssertEqual(try commitCount(), before + 1)
    }

    /// A writer that stores the id between the plan and its commit wins:
    /// the generate is refused under the lock, the other value kept.
    func testAnIDCreatedAfterPlanningIsNotOverwritten() throws {
        let (plan, _) = try vault.planGenerate(id("race"), try Recipe(.alnum), replacing: false, me: mine)
        try set(["race": "theirs"])
        let before = try commitCount()
        assertThrows(.alreadyExists(id: "race")) { try vault.apply(plan, identities: []) }
        XCTAssertEqual(try value("race"), "theirs")
        XCTAssertEqual(try commitCount(), before)
    }

    func testAScopeIDoNotReadIsARisk() throws {
        let other = X25519Identity.generate()
        try commitRecipients("ops", [named(other, "other")])
        var (plan, _) = try vault.planGenerate(id("ops/key"), try Recipe(.words), replacing: false, me: mine)
        XCTAssertEqual(plan.risks, [.youWouldNotRead([try Scope("ops")])])
        assertThrows(.unconfirmed(plan.risks)) { try vault.apply(plan, identities: []) }
        plan.confirm()
        XCTAssertEqual(try vault.apply(plan, identities: []).written, [id("ops/key")])
    }
}
