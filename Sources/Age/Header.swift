import CSodium

/// The textual age v1 header: the stanzas and the MAC that authenticates them.
///
/// Parsing is strict (canonical base64, exact line lengths, LF only), so the
/// bytes the MAC covers are the only encoding of this header: nothing in it can
/// be altered without the file key.
public struct Header: Sendable {
    static let versionLine = Array("age-encryption.org/v1".utf8)
    static let versionPrefix = Array("age-encryption.org/".utf8)
    static let columns = 64
    /// Generous for thousands of recipients, yet bounds memory on hostile input.
    static let maxSize = 4 * 1024 * 1024
    /// Bounds the work a hostile header can demand (every identity tries every stanza).
    static let maxStanzas = 10_000

    public var stanzas: [Stanza]
    /// The bytes the MAC covers: everything up to and including "---".
    let authenticatedBytes: [UInt8]
    let mac: [UInt8]

    /// Checks the MAC in constant time against the given file key.
    func verifyMAC(fileKey: SecureBytes) throws {
        let expected = Header.computeMAC(authenticatedBytes, fileKey: fileKey)
        guard expected.count == mac.count,
              sodium_memcmp(expected, mac, mac.count) == 0
        else { throw AgeError.headerMACMismatch }
    }

    static func computeMAC(_ bytes: [UInt8], fileKey: SecureBytes) -> [UInt8] {
        let key = HKDF.deriveKey(ikm: fileKey, salt: [], info: "header")
        var mac = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBytes { k in
            bytes.withUnsafeBytes { m in
                mac.withUnsafeMutableBytes { HMAC.authenticate(key: k, message: [m], into: $0) }
            }
        }
        return mac
    }

    /// Encodes `stanzas` as a complete header, MAC line included, for `fileKey`.
    public static func encode(stanzas: [Stanza], fileKey: SecureBytes) -> [UInt8] {
        var out = versionLine + [0x0A]
        for stanza in stanzas { stanza.encode(into: &out) }
        out.append(contentsOf: Array("---".utf8))
        let mac = computeMAC(out, fileKey: fileKey)
        out.append(0x20)
        out.append(contentsOf: Array(Base64.encode(mac).utf8))
        out.append(0x0A)
        return out
    }

    /// Parses the header at the start of `bytes`; returns it with the offset
    /// where the payload (nonce first) begins. Needs no key.
    public static func parse(_ bytes: [UInt8]) throws -> (header: Header, payloadOffset: Int) {
        let reader = BufferedReader(MemorySource(bytes))
        let header = try parse(from: reader)
        return (header, header.authenticatedBytes.count + 1 + 43 + 1)
    }

    static func parse(from reader: BufferedReader) throws -> Header {
        var raw: [UInt8] = []
        var budget = maxSize
        func nextLine() throws -> [UInt8] {
            guard let (line, terminated) = try reader.readLine(
                limit: budget, tooLong: AgeError.malformedHeader("header exceeds \(maxSize) bytes"))
            else { throw AgeError.malformedHeader("unexpected end of header") }
            guard terminated else { throw AgeError.malformedHeader("unexpected end of header") }
            budget -= line.count + 1
            return line
        }

        let version = try nextLine()
        if version != versionLine {
            if version.starts(with: versionPrefix) {
                throw AgeError.unsupportedVersion(printable(version.dropFirst(versionPrefix.count)))
            }
            throw AgeError.malformedHeader("not an age file (bad version line)")
        }
        raw += version + [0x0A]

        var stanzas: [Stanza] = []
        while true {
            let line = try nextLine()
            if line.starts(with: Array("---".utf8)) {
                guard !stanzas.isEmpty else { throw AgeError.malformedHeader("header has no recipient stanza") }
                guard line.count == 3 + 1 + 43, line[3] == 0x20,
                      let mac = Base64.decode(line[4...]), mac.count == 32
                else { throw AgeError.malformedHeader("malformed MAC line") }
                raw += Array("---".utf8)
                return Header(stanzas: stanzas, authenticatedBytes: raw, mac: mac)
            }
            guard line.starts(with: Array("-> ".utf8)) else {
                throw AgeError.malformedHeader("expected a stanza or the MAC line")
            }
            guard stanzas.count < maxStanzas else { throw AgeError.malformedHeader("more than \(maxStanzas) stanzas") }
            raw += line + [0x0A]
            stanzas.append(try Stanza.parse(argumentLine: line) {
                let bodyLine = try nextLine()
                if bodyLine.count <= columns { raw += bodyLine + [0x0A] }
                return bodyLine
            })
        }
    }

    private static func printable<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.prefix(64).map { ($0 >= 0x20 && $0 < 0x7F) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
