/// The SSH wire encodings (RFC 4253 §5): `uint32` big-endian, and `string`,
/// a uint32 length then that many bytes.
enum Wire {
    static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func string<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        u32(UInt32(bytes.count)) + bytes
    }

    static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }
}

/// Reads wire fields from a buffer the caller lends (a secret's included),
/// refusing a length past the end or above the field's limit. Failures are
/// `fail(reason)`, so each format reports them as its own error; the
/// reasons name fields, never bytes.
struct WireReader {
    private let buffer: UnsafeRawBufferPointer
    private let fail: (String) -> SSHSigError
    private(set) var offset = 0

    init(_ buffer: UnsafeRawBufferPointer, fail: @escaping (String) -> SSHSigError) {
        self.buffer = buffer
        self.fail = fail
    }

    var isAtEnd: Bool { offset == buffer.count }
    var remaining: Int { buffer.count - offset }

    mutating func bytes(_ count: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw fail("\(field) is cut short") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try bytes(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string(_ field: String, limit: Int) throws -> UnsafeRawBufferPointer {
        let length = try u32(field)
        guard length <= limit else { throw fail("\(field) is longer than \(limit) bytes") }
        return try bytes(Int(length), field)
    }

    /// A string that must be exactly `expected`.
    mutating func expect(_ expected: String, _ field: String) throws {
        guard try string(field, limit: 64).elementsEqual(expected.utf8) else { throw fail("\(field) is not \(expected)") }
    }
}

/// Writes wire fields into a buffer of known size (a secret's included).
struct WireWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        precondition(offset + bytes.count <= buffer.count, "wire buffer too small")
        if let base = bytes.baseAddress { (buffer.baseAddress! + offset).copyMemory(from: base, byteCount: bytes.count) }
        offset += bytes.count
    }

    mutating func put(_ bytes: [UInt8]) { bytes.withUnsafeBytes { put($0) } }
    mutating func u32(_ value: UInt32) { put(Wire.u32(value)) }

    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        u32(UInt32(bytes.count))
        put(bytes)
    }

    mutating func string(_ bytes: [UInt8]) { bytes.withUnsafeBytes { string($0) } }
    mutating func string(_ text: String) { string(Array(text.utf8)) }
}
