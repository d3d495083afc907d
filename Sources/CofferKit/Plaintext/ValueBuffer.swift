import Age

/// Bytes appended into wiped memory: a value decoded from, or a file
/// encoded for, a plaintext format never sits in an ordinary array. Growing
/// copies into a new buffer; the old one is wiped when released.
struct ValueBuffer {
    private var storage: SecureBytes
    private(set) var count = 0

    init(capacity: Int) { storage = SecureBytes(count: max(capacity, 16)) }

    mutating func append(_ byte: UInt8) {
        reserve(1)
        storage.withUnsafeMutableBytes { $0[count] = byte }
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        storage.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[count..<(count + bytes.count)]).copyMemory(from: bytes) }
        count += bytes.count
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(ascii text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// The bytes appended, in a buffer of their own size.
    func finish() -> SecureBytes {
        storage.truncate(to: count)
        return storage
    }

    private mutating func reserve(_ more: Int) {
        guard count + more > storage.count else { return }
        let bigger = SecureBytes(count: max(storage.count * 2, count + more))
        let used = count
        bigger.withUnsafeMutableBytes { target in
            storage.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[0..<used]).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<used])) }
        }
        storage = bigger
    }
}

/// UTF-8 checked in place, so a value is never copied into a `String` to be checked.
enum UTF8Text {
    /// The offset of the first byte that is not valid UTF-8 (overlong forms,
    /// surrogates and code points past U+10FFFF included), or nil.
    static func firstInvalidByte(in bytes: UnsafeRawBufferPointer) -> Int? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool { firstInvalidByte(in: bytes) == nil }

    static func isValid(_ value: SecureBytes) -> Bool { value.withUnsafeBytes { isValid($0) } }

    /// The 1-based line of `offset`.
    static func line(of offset: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        1 + bytes[0..<min(offset, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// The length of a UTF-8 byte order mark at the start, if any.
    static func byteOrderMark(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }
}
