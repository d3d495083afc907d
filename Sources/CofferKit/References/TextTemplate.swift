import Age

/// A text or dotenv template: `${coffer:ID}` on any line (`$${coffer:` for
/// a literal). In text, a value goes in as its exact bytes. A dotenv file
/// stays safe to source with a POSIX shell: a reference that is a line's
/// whole value (`KEY=${coffer:ID}`) is quoted as `export --format dotenv`
/// quotes values (or refused where no quoting is inert); a reference inside
/// a longer value is refused unless its value is only `Dotenv.isInert`
/// characters; dotenv values must be UTF-8.
public struct TextTemplate: Sendable {
    public enum Kind: Sendable { case text, dotenv }

    private struct Line: Sendable {
        let number: Int
        let template: Template
        /// The reference is the whole value of a dotenv assignment.
        let isWholeValue: Bool
    }

    /// A dotenv assignment whose whole value is a bare `coffer:ID`, the
    /// form only YAML and JSON read: it stays text, and the CLI says so.
    public struct BareReference: Equatable, Sendable {
        public let line: Int
        public let key: String
        public let id: SecretID
    }

    public let kind: Kind
    private let lines: [Line]
    /// Dotenv only, in line order.
    public let bareReferences: [BareReference]

    public init(parsing text: UnsafeRawBufferPointer, kind: Kind) throws {
        if let bad = UTF8Text.firstInvalidByte(in: text) {
            throw ReferenceError.notADocument(format: kind == .text ? "text" : "dotenv",
                                              reason: "line \(UTF8Text.line(of: bad, in: text)) is not UTF-8 text")
        }
        self.kind = kind
        var lines: [Line] = []
        var bare: [BareReference] = []
        var start = 0, number = 1
        while start < text.count {
            let end = (text[start...].firstIndex(of: 0x0A)).map { $0 + 1 } ?? text.count
            let line = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<end]), as: UTF8.self)
            let template = try Template(interpolating: line, at: "line \(number)")
            lines.append(Line(number: number, template: template,
                              isWholeValue: kind == .dotenv && TextTemplate.isWholeValue(template.pieces)))
            if kind == .dotenv, template.ids.isEmpty, let (key, id) = TextTemplate.bareReference(in: line) {
                bare.append(BareReference(line: number, key: key, id: id))
            }
            start = end
            number += 1
        }
        self.lines = lines
        bareReferences = bare
    }

    /// `[export ]KEY=coffer:ID` (the value perhaps quoted) with a valid id.
    private static func bareReference(in line: String) -> (key: String, id: SecretID)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        var key = line[..<equals].trimming(" \t")
        if key.hasPrefix("export "), key.count > 7 { key = key.dropFirst(7).trimming(" \t") }
        guard !key.isEmpty, !key.contains(where: { " \t#'\"".contains($0) }) else { return nil }
        // isWhitespace, not a list: "\r\n" is one Character.
        var value = String(line[line.index(after: equals)...].drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
            value = String(value.dropFirst().dropLast())
        }
        guard value.hasPrefix(Template.wholePrefix), let id = try? SecretID(String(value.dropFirst(Template.wholePrefix.count))) else { return nil }
        return (key, id)
    }

    /// Every reference, in order, located by line.
    public var references: [ConfigReference] {
        lines.flatMap { line in line.template.ids.map { ConfigReference(id: $0, location: "line \(line.number)") } }
    }

    /// The text with every reference replaced, in a wiped buffer.
    public func rendered(with values: ResolvedValues) throws -> SecureBytes {
        var out = ValueBuffer(capacity: 4096)
        for line in lines {
            try line.template.render(into: &out, values) { id, value, out in
                guard kind == .dotenv else { return out.append(value) }
                guard UTF8Text.isValid(value) else { throw ReferenceError.notUTF8(id: id.value) }
                if line.isWholeValue {
                    guard Dotenv.appendQuoted(value, to: &out) else { throw ReferenceError.notQuotableInDotenv(id: id.value, line: line.number) }
                    return
                }
                guard value.allSatisfy(Dotenv.isInert) else { throw ReferenceError.unsafeInDotenv(id: id.value, line: line.number) }
                out.append(value)
            }
        }
        return out.finish()
    }

    /// `[export ]KEY=${coffer:ID}` with only blanks around: the pieces are
    /// an assignment's start, one reference and at most blanks and the line end.
    private static func isWholeValue(_ pieces: [Template.Piece]) -> Bool {
        guard pieces.count == 2 || pieces.count == 3, case .text(let head) = pieces[0], case .reference = pieces[1] else { return false }
        if pieces.count == 3 {
            guard case .text(let tail) = pieces[2], tail.allSatisfy(\.isWhitespace) else { return false }
        }
        var assignment = head.trimming(" \t")
        guard assignment.hasSuffix("=") else { return false }
        assignment = assignment.dropLast().trimming(" \t")
        if assignment.hasPrefix("export "), assignment.count > 7 { assignment = assignment.dropFirst(7).trimming(" \t") }
        return !assignment.isEmpty && !assignment.contains { $0 == " " || $0 == "\t" || $0 == "#" || $0 == "=" || $0 == "'" || $0 == "\"" }
    }
}
