/// One recipient stanza: a type, its arguments, and a binary body. Stanzas are
/// public (they hold wrapped keys, never bare ones), so they are plain values.
public struct Stanza: Equatable, Sendable {
    public var type: String
    public var arguments: [String]
    public var body: [UInt8]

    public init(type: String, arguments: [String] = [], body: [UInt8] = []) {
        self.type = type
        self.arguments = arguments
        self.body = body
    }

    /// An argument must be one or more visible ASCII characters (VCHAR).
    static func isValidArgument<C: Collection>(_ arg: C) -> Bool where C.Element == UInt8 {
        !arg.isEmpty && arg.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// The canonical encoding, as in a header and on the age plugin protocol's pipes.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the canonical encoding: the argument line, then the body wrapped
    /// at 64 columns and always ended by a line shorter than 64 (possibly empty).
    func encode(into out: inout [UInt8]) {
        out.append(contentsOf: Array("->".utf8))
        for arg in [type] + arguments {
            precondition(Stanza.isValidArgument(Array(arg.utf8)), "stanza argument must be VCHAR")
            out.append(0x20)
            out.append(contentsOf: Array(arg.utf8))
        }
        out.append(0x0A)
        let text = Array(Base64.encode(body).utf8)
        var i = 0
        while true {
            let line = text[i..<min(i + Header.columns, text.count)]
            out.append(contentsOf: line)
            out.append(0x0A)
            i += line.count
            if line.count < Header.columns { break }
        }
    }
}

extension Stanza {
    /// Parses one stanza strictly: `argumentLine` is its first line without the
    /// LF (`-> type args…`), `nextLine` yields the body lines that follow, each
    /// without its LF. A header and the plugin protocol both read stanzas so.
    /// The base64 text read is wiped: a plugin's `file-key` body is a bare key.
    public static func parse<C: Collection>(argumentLine line: C, nextLine: () throws -> [UInt8]) throws -> Stanza
    where C.Element == UInt8 {
        guard line.starts(with: Array("-> ".utf8)) else {
            throw AgeError.malformedHeader("expected a stanza")
        }
        let args = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
        guard args.allSatisfy({ Stanza.isValidArgument($0) }) else {
            throw AgeError.malformedHeader("invalid stanza argument")
        }
        var bodyText: [UInt8] = []
        defer { Bech32.wipe(&bodyText) }
        while true {
            let bodyLine = try nextLine()
            guard bodyLine.count <= Header.columns else { throw AgeError.malformedHeader("stanza body line over 64 columns") }
            bodyText += bodyLine
            if bodyLine.count < Header.columns { break }
        }
        guard let body = Base64.decode(bodyText) else {
            throw AgeError.malformedHeader("stanza body is not canonical base64")
        }
        let strings = args.map { String(decoding: $0, as: UTF8.self) }
        return Stanza(type: strings[0], arguments: Array(strings.dropFirst()), body: body)
    }
}
