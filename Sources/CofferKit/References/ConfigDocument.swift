import Age

/// The formats `render` reads, told by a file's extension unless named.
public enum ConfigFormat: String, CaseIterable, Sendable {
    case yaml, json, dotenv, text

    /// `.yaml`/`.yml`, `.json`, `.env` (and `NAME.env`, `.env.NAME`); anything else is text.
    public init(path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            self = .yaml
        } else if name.hasSuffix(".json") {
            self = .json
        } else if name.hasSuffix(".env") || name.hasPrefix(".env.") {
            self = .dotenv
        } else {
            self = .text
        }
    }
}

/// A template coffer parses itself: JSON, dotenv or text. (YAML is parsed
/// by the `coffer-yaml` helper, which needs Foundation; the CLI drives it,
/// with `Template` for each string it finds.)
public enum ConfigDocument: Sendable {
    case json(ConfigNode)
    case text(TextTemplate)

    /// `format` must not be `.yaml`.
    public init(parsing text: UnsafeRawBufferPointer, format: ConfigFormat) throws {
        switch format {
        case .json: self = .json(try ConfigJSON.parse(text))
        case .dotenv: self = .text(try TextTemplate(parsing: text, kind: .dotenv))
        case .text: self = .text(try TextTemplate(parsing: text, kind: .text))
        case .yaml: throw ReferenceError.notADocument(format: "YAML", reason: "YAML is read by coffer-yaml, not in-process")
        }
    }

    /// Every reference, in document order.
    public func references() throws -> [ConfigReference] {
        switch self {
        case .json(let tree): return try tree.references()
        case .text(let template): return template.references
        }
    }

    /// The document with its references replaced by `values`, in a wiped buffer.
    public func rendered(with values: ResolvedValues) throws -> SecureBytes {
        switch self {
        case .json(let tree): return ConfigJSON.encode(try tree.resolved(with: values))
        case .text(let template): return try template.rendered(with: values)
        }
    }
}
