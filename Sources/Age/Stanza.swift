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
