import Synchronization

/// The last text parsed into a value, for one kind of clone file: a write
/// reads this clone's accepted readers and trust state before its commit
/// and again after, and parsing them (a Bech32 or SSH key on most lines) is
/// most of that cost. The text read is compared whole, so a file that
/// changed is always parsed afresh.
final class ParsedText<Value: Sendable>: Sendable {
    private struct Parsed {
        let path: String
        let text: String
        let value: Value
    }

    private let last = Mutex<Parsed?>(nil)

    func value(path: String, text: String, parse: (String) throws -> Value) throws -> Value {
        // Byte for byte: String's == calls canonically equivalent texts equal.
        if let hit = last.withLock({ last in
            last.flatMap { $0.path == path && $0.text.utf8.elementsEqual(text.utf8) ? $0.value : nil }
        }) { return hit }
        let value = try parse(text)
        last.withLock { $0 = Parsed(path: path, text: text, value: value) }
        return value
    }
}
