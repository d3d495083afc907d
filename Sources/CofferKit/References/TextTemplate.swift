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

    public let kind: Kind
    private let lines: [Line]

    public init(parsing text: UnsafeRawBufferPointer, kind: Kind) throws {
        if let bad = UTF8Text.firstInvalidByte(in: text) {
            throw ReferenceError.notADocument(format: kind == .text ? "text" : "dotenv",
                                              reason: "line \(UTF8Text.line(of: bad, in: text)) is not UTF-8 text")
        }
        self.kind = kind
        var lines: [Line] = []
        var start = 0, number = 1
        while start < text.count {
            let end = (text[start...].firstIndex(of: 0x0A)).map { $0 + 1 } ?? text.count
            let line = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<end]), as: UTF8.self)
            let template = try Template(interpolating: line, at: "line \(number)")
            lines.append(Line(number: number, template: template,
                              isWholeValue: kind == .dotenv && TextTemplate.isWholeValue(template.pieces)))
            start = end
            number += 1
        }
        self.lines = lines
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
