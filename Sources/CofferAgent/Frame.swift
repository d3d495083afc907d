import Age

/// One message on the agent's socket: a 4-byte big-endian length, then that
/// many bytes — the protocol version, the message kind, its fields. Fields
/// are a u8, a big-endian u32, or a u32 length and that many bytes, as in
/// SSH's wire format.
///
/// The bytes live in a wiped buffer (`SecureBytes`) whichever way they go:
/// an unwrap answer carries file keys, and no copy of one is left in an
/// ordinary array.
final class FrameWriter {
    // A small-buffer slot (`LockedMemory`), not a page of its own: most frames fit.
    private var buffer = SecureBytes(count: 128)
    private(set) var count = 4

    init(kind: UInt8) {
        u8(AgentProtocol.version)
        u8(kind)
    }

    func u8(_ value: UInt8) { append(1) { $0[0] = value } }

    func u32(_ value: UInt32) {
        append(4) { out in for i in 0..<4 { out[i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * i)) } }
    }

    func bytes(_ value: UnsafeRawBufferPointer) {
        u32(UInt32(value.count))
        append(value.count) { if value.count > 0 { $0.copyMemory(from: value) } }
    }

    func bytes(_ value: [UInt8]) { value.withUnsafeBytes { bytes($0) } }

    func string(_ value: String) { bytes(Array(value.utf8)) }

    /// The frame, its length prefix filled in; the writer is spent.
    func finish() -> SecureBytes {
        let length = UInt32(count - 4)
        buffer.withUnsafeMutableBytes { out in for i in 0..<4 { out[i] = UInt8(truncatingIfNeeded: length >> (24 - 8 * i)) } }
        buffer.truncate(to: count)
        return buffer
    }

    private func append(_ n: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        if count + n > buffer.count {
            var size = buffer.count * 2
            while size < count + n { size *= 2 }
            let bigger = SecureBytes(count: size)
            bigger.withUnsafeMutableBytes { b in buffer.withUnsafeBytes { b.copyMemory(from: $0) } }
            buffer = bigger
        }
        buffer.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[count..<(count + n)])) }
        count += n
    }
}

/// Reads a frame's fields in order; every length is checked against what
/// is left and against the field's own bound, so a hostile frame can
/// neither read past its end nor ask for a large allocation.
struct FrameReader {
    private let bytes: UnsafeRawBufferPointer
    private var at = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func u8(_ what: String) throws -> UInt8 {
        guard at < bytes.count else { throw AgentError.protocolViolation("the frame ends before its \(what)") }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        guard bytes.count - at >= 4 else { throw AgentError.protocolViolation("the frame ends before its \(what)") }
        defer { at += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[at + $1]) }
    }

    /// A count of items, each taking at least `itemSize` bytes: bounded by `limit` and by what is left.
    mutating func count(_ what: String, limit: Int, itemSize: Int = 4) throws -> Int {
        let n = Int(try u32(what))
        guard n <= limit, n * itemSize <= bytes.count - at else { throw AgentError.protocolViolation("too many \(what) (\(n))") }
        return n
    }

    mutating func bytes(_ what: String, limit: Int) throws -> UnsafeRawBufferPointer {
        let n = Int(try u32(what))
        guard n <= limit else { throw AgentError.protocolViolation("\(what) is \(n) bytes, over the limit of \(limit)") }
        guard bytes.count - at >= n else { throw AgentError.protocolViolation("the frame ends inside its \(what)") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }

    mutating func string(_ what: String, limit: Int) throws -> String {
        let raw = try bytes(what, limit: limit)
        guard let text = String(validating: raw, as: UTF8.self) else { throw AgentError.protocolViolation("\(what) is not UTF-8") }
        return text
    }

    /// Refuses trailing bytes: one message has one encoding.
    func end() throws {
        guard at == bytes.count else { throw AgentError.protocolViolation("\(bytes.count - at) bytes after the message") }
    }
}
