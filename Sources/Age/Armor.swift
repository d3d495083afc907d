/// age's ASCII armor: strict PEM ("AGE ENCRYPTED FILE"), padded canonical
/// base64 in 64-column lines, no headers. Strictness matters because armor is
/// otherwise malleable: only whitespace around the block and CRLF line ends
/// are tolerated, as the age spec allows.
enum ArmorFormat {
    static let header = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    static let footer = Array("-----END AGE ENCRYPTED FILE-----".utf8)
    static let columns = 64
    static let bytesPerLine = columns / 4 * 3
    /// Bound on whitespace skipped before and after the block (as age does).
    static let maxWhitespace = 1024

    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
}

/// Encodes to armor as bytes arrive; `finish` writes the last line and footer.
final class ArmorWriter: ByteSink {
    private let sink: ByteSink
    private var carry: [UInt8] = []
    private var out: [UInt8] = []

    init(to sink: ByteSink) {
        self.sink = sink
        out = ArmorFormat.header + [0x0A]
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        carry.append(contentsOf: bytes)
        let whole = carry.count / ArmorFormat.bytesPerLine * ArmorFormat.bytesPerLine
        guard whole > 0 else { return }
        encodeLines(carry[0..<whole])
        carry.removeFirst(whole)
        try emit()
    }

    func finish() throws {
        if !carry.isEmpty { encodeLines(carry[...]) }
        carry = []
        out += ArmorFormat.footer + [0x0A]
        try emit()
    }

    private func encodeLines(_ bytes: ArraySlice<UInt8>) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let j = min(i + ArmorFormat.bytesPerLine, bytes.endIndex)
            out += Array(Base64.encode(bytes[i..<j], padded: true).utf8)
            out.append(0x0A)
            i = j
        }
    }

    private func emit() throws {
        try out.withUnsafeBytes { try sink.write($0) }
        out.removeAll(keepingCapacity: true)
    }
}

/// Decodes armor line by line, so memory stays bounded for any file size.
final class ArmorReader: ByteSource {
    private let input: BufferedReader
    private var started = false
    private var ended = false
    private var decoded: [UInt8] = []
    private var offset = 0

    init(_ input: BufferedReader) { self.input = input }

    /// True when the input, after leading whitespace, starts with the armor line.
    static func looksArmored(_ reader: BufferedReader) throws -> Bool {
        let head = Array(try reader.peek(ArmorFormat.maxWhitespace + ArmorFormat.header.count))
        guard let first = head.firstIndex(where: { !ArmorFormat.isWhitespace($0) }) else { return false }
        return head[first...].starts(with: ArmorFormat.header)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == decoded.count {
            if ended { return 0 }
            try decodeNextLine()
        }
        let n = min(buffer.count, decoded.count - offset)
        decoded.withUnsafeBytes { d in buffer.baseAddress!.copyMemory(from: d.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }

    private func line() throws -> [UInt8] {
        guard let (raw, _) = try input.readLine(
            limit: ArmorFormat.maxWhitespace + ArmorFormat.header.count, tooLong: AgeError.invalidArmor("line too long"))
        else { throw AgeError.invalidArmor("unexpected end of input") }
        var l = raw
        if l.last == 0x0D { l.removeLast() }
        return l
    }

    private func decodeNextLine() throws {
        var skipped = 0
        while !started {
            let l = try line()
            if l.allSatisfy(ArmorFormat.isWhitespace) {
                skipped += l.count + 1
                guard skipped <= ArmorFormat.maxWhitespace else { throw AgeError.invalidArmor("too much leading whitespace") }
                continue
            }
            guard l == ArmorFormat.header else { throw AgeError.invalidArmor("missing BEGIN line") }
            started = true
        }
        let l = try line()
        if l == ArmorFormat.footer { return try end() }
        guard !l.isEmpty, l.count <= ArmorFormat.columns else { throw AgeError.invalidArmor("line length is not 1 to 64 columns") }
        guard let bytes = Base64.decode(l, padded: true) else { throw AgeError.invalidArmor("not canonical padded base64") }
        decoded = bytes
        offset = 0
        if bytes.count < ArmorFormat.bytesPerLine {
            guard try line() == ArmorFormat.footer else { throw AgeError.invalidArmor("short line before the END line") }
            try end()
        }
    }

    private func end() throws {
        ended = true
        var rest = [UInt8](repeating: 0, count: ArmorFormat.maxWhitespace)
        let n = try rest.withUnsafeMutableBytes { try input.readFull(into: $0) }
        guard rest[0..<n].allSatisfy(ArmorFormat.isWhitespace) else { throw AgeError.invalidArmor("data after the END line") }
        guard n < ArmorFormat.maxWhitespace else { throw AgeError.invalidArmor("too much trailing whitespace") }
    }
}
