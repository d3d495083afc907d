/// Where the age layer reads bytes from. `read` returns 0 only at end of input.
/// Concrete sources for files live above this module; the format stays pure.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Where the age layer writes bytes to; `write` consumes the whole buffer or throws.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Reads from an in-memory ciphertext (ciphertext is not secret, so a plain array is fine).
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 {
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            offset += n
        }
        return n
    }
}

/// Collects ciphertext in memory. Not for plaintext: use `SecureBytes` for that.
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: chunk)
    }
}

/// A read-ahead buffer over a source: line reads for the textual header, and
/// exact-length reads for the binary payload.
final class BufferedReader {
    private let source: ByteSource
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var sawEOF = false

    init(_ source: ByteSource, capacity: Int = 16 * 1024) {
        self.source = source
        buffer = [UInt8](repeating: 0, count: capacity)
    }

    /// Pulls more input into the buffer; returns false at end of input.
    private func fill() throws -> Bool {
        if sawEOF { return false }
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in
                if end > start { b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: end - start) }
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let n = try buffer.withUnsafeMutableBytes { b in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: b[end...]))
        }
        if n == 0 { sawEOF = true; return false }
        end += n
        return true
    }

    /// The next `count` bytes without consuming them (fewer at end of input).
    func peek(_ count: Int) throws -> ArraySlice<UInt8> {
        while end - start < count, try fill() {}
        return buffer[start..<min(end, start + count)]
    }

    /// Reads through the next LF. Returns the line without its LF and whether
    /// an LF ended it; nil at end of input. Lines longer than `limit` throw.
    func readLine(limit: Int, tooLong: @autoclosure () -> Error) throws -> (line: [UInt8], terminated: Bool)? {
        var scanned = start
        while true {
            if let nl = buffer[scanned..<end].firstIndex(of: 0x0A) {
                guard nl - start <= limit else { throw tooLong() }
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return (line, true)
            }
            scanned = end
            guard end - start <= limit else { throw tooLong() }
            let before = start
            if try !fill() {
                if start == end { return nil }
                let line = Array(buffer[start..<end])
                start = end
                return (line, false)
            }
            scanned -= before - start
        }
    }

    /// Fills `out` completely unless input ends first; returns the bytes read.
    func readFull(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        let buffered = min(end - start, out.count)
        if buffered > 0 {
            buffer.withUnsafeBytes { b in
                out.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: buffered)
            }
            start += buffered
            filled = buffered
        }
        while filled < out.count && !sawEOF {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: out[filled...]))
            if n == 0 { sawEOF = true } else { filled += n }
        }
        return filled
    }
}
