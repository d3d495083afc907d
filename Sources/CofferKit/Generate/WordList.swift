/// A word list held in the binary as one static string, split once into
/// byte ranges: choosing a word copies its bytes out of read-only memory
/// without ever making a Swift `String` of a generated value.
struct WordList: Sendable {
    /// The EFF large wordlist (see EFFWordList.swift for its origin and licence).
    static let eff = WordList(effLargeWordList)

    private let text: StaticString
    private let ranges: [Range<Int>]

    init(_ text: StaticString) {
        self.text = text
        var ranges: [Range<Int>] = []
        var start = 0
        text.withUTF8Buffer { bytes in
            for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
                if offset > start { ranges.append(start..<offset) }
                start = offset + 1
            }
            if bytes.count > start { ranges.append(start..<bytes.count) }
        }
        self.ranges = ranges
    }

    var count: Int { ranges.count }

    /// The longest word's length in bytes.
    var longest: Int { ranges.map(\.count).max() ?? 0 }

    /// Lends the bytes of word `index`.
    func withWord<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        text.withUTF8Buffer { bytes in body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[ranges[index]]))) }
    }

    /// Every word as text, for tests and checks (never for generated values).
    var words: [String] {
        ranges.indices.map { i in withWord(i) { String(decoding: $0, as: UTF8.self) } }
    }
}
