import Age

/// A secret named by a config document, and where: `line 3`, or a path in
/// a tree such as `$.db.hosts[0]`. Never a value.
public struct ConfigReference: Hashable, Sendable {
    public let id: SecretID
    public let location: String

    public init(id: SecretID, location: String) {
        self.id = id
        self.location = location
    }
}

/// One string of a config document cut into literal text and references.
///
/// Syntax (docs/CLI.md, "render"): `${coffer:ID}` anywhere in the text;
/// `$${coffer:` is a literal `${coffer:`. As a value of a YAML or JSON
/// document, a string `coffer:ID` is one reference as a whole, as `op://`
/// is for 1Password. The text is the template's own (not a value), so
/// errors may quote it.
public struct Template: Sendable {
    public enum Piece: Equatable, Sendable {
        case text(String)
        case reference(SecretID)
    }

    public let pieces: [Piece]
    /// True when the whole string was `coffer:ID` (tree formats only).
    public let isWholeReference: Bool

    /// The ids named, in order (an id may appear more than once).
    public var ids: [SecretID] {
        pieces.compactMap { if case .reference(let id) = $0 { return id } else { return nil } }
    }

    /// A string value of a YAML or JSON document: `coffer:ID` whole (a
    /// string starting `coffer:` with no whitespace in it must name a valid
    /// id, so a typo is caught, while prose such as "coffer: the vault" is
    /// text), else `${coffer:ID}` inside it.
    public init(value text: String, at location: String) throws {
        if text.hasPrefix(Template.wholePrefix), !text.contains(where: \.isWhitespace) {
            let id = try Template.id(String(text.dropFirst(Template.wholePrefix.count)), at: location)
            self.init(pieces: [.reference(id)], isWholeReference: true)
        } else {
            try self.init(interpolating: text, at: location)
        }
    }

    /// A line or file of a text template: `${coffer:ID}` only.
    public init(interpolating text: String, at location: String) throws {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: Template.open) {
            let before = rest[..<open.lowerBound]
            if before.hasSuffix("$") {
                // `$${coffer:` is the literal `${coffer:`.
                literal += before.dropLast() + Template.open
                rest = rest[open.upperBound...]
                continue
            }
            literal += before
            guard let close = rest[open.upperBound...].firstIndex(where: { $0 == "}" || $0 == "\n" }), rest[close] == "}" else {
                throw ReferenceError.invalidReference(location: location, reason: "`${coffer:` without its closing `}`")
            }
            if !literal.isEmpty { pieces.append(.text(literal)) }
            literal = ""
            pieces.append(.reference(try Template.id(String(rest[open.upperBound..<close]), at: location)))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.init(pieces: pieces, isWholeReference: false)
    }

    private init(pieces: [Piece], isWholeReference: Bool) {
        self.pieces = pieces
        self.isWholeReference = isWholeReference
    }

    static let wholePrefix = "coffer:"
    static let open = "${coffer:"

    private static func id(_ text: String, at location: String) throws -> SecretID {
        do {
            return try SecretID(text)
        } catch let error as VaultError {
            throw ReferenceError.invalidReference(location: location, reason: error.description)
        }
    }

    /// The text with each reference replaced by its value, appended to `out`;
    /// `value` may check or quote each value (it gets the id and bytes).
    func render(into out: inout ValueBuffer, _ values: ResolvedValues,
                value: (SecretID, UnsafeRawBufferPointer, inout ValueBuffer) throws -> Void) throws {
        for piece in pieces {
            switch piece {
            case .text(let text): out.append(ascii: text)
            case .reference(let id): try values.value(of: id).withUnsafeBytes { try value(id, $0, &out) }
            }
        }
    }

    /// The string with its references resolved, in a wiped buffer; every
    /// value must be UTF-8, since it goes into a YAML or JSON string.
    public func rendered(with values: ResolvedValues) throws -> SecureBytes {
        var out = ValueBuffer(capacity: 64)
        try render(into: &out, values) { id, bytes, out in
            guard UTF8Text.isValid(bytes) else { throw ReferenceError.notUTF8(id: id.value) }
            out.append(bytes)
        }
        return out.finish()
    }
}
