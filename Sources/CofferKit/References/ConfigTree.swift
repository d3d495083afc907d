import Age

/// A config document as a tree: maps (keys in document order), lists,
/// strings and other scalars. Strings may hold references (`Template`);
/// nothing in it is a secret value.
public indirect enum ConfigNode: Sendable {
    case map([(key: String, value: ConfigNode)])
    case list([ConfigNode])
    case string(String)
    /// A number, `true`, `false` or `null`, as written.
    case scalar(String)

    /// Every reference in the tree, in document order, located by path
    /// (`$.db.hosts[0]`). Throws at the first string that names no valid id.
    public func references() throws -> [ConfigReference] {
        var found: [ConfigReference] = []
        try walk("$") { path, template in found += template.ids.map { ConfigReference(id: $0, location: path) } }
        return found
    }

    private func walk(_ path: String, _ visit: (String, Template) throws -> Void) throws {
        switch self {
        case .map(let entries): for (key, value) in entries { try value.walk(ConfigNode.path(path, key: key), visit) }
        case .list(let items): for (index, item) in items.enumerated() { try item.walk(path + "[\(index)]", visit) }
        case .string(let text): try visit(path, try Template(value: text, at: path))
        case .scalar: break
        }
    }

    /// `$.key` for a plain key, `$["odd key"]` for any other.
    static func path(_ parent: String, key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { SecretID.isAllowed($0) && $0 != UInt8(ascii: ".") }
        return plain ? parent + "." + key : parent + "[" + FlatJSON.quoted(key) + "]"
    }

    /// The tree with every string that holds a reference replaced by its
    /// value (`.secret`); other strings lose only their `$${` escapes.
    /// Every value used must be UTF-8 text, as a config string is.
    public func resolved(with values: ResolvedValues) throws -> ResolvedNode {
        try resolved(with: values, at: "$")
    }

    private func resolved(with values: ResolvedValues, at path: String) throws -> ResolvedNode {
        switch self {
        case .map(let entries):
            return .map(try entries.map { ($0.key, try $0.value.resolved(with: values, at: ConfigNode.path(path, key: $0.key))) })
        case .list(let items): return .list(try items.enumerated().map { try $1.resolved(with: values, at: path + "[\($0)]") })
        case .scalar(let text): return .scalar(text)
        case .string(let text):
            let template = try Template(value: text, at: path)
            guard !template.ids.isEmpty else {
                return .string(template.pieces.map { if case .text(let t) = $0 { return t } else { return "" } }.joined())
            }
            return .secret(try template.rendered(with: values))
        }
    }
}

/// A config tree with its references resolved: each string that held one
/// is a wiped buffer (`.secret`). Prints and mirrors as `<redacted>`.
public indirect enum ResolvedNode: Redacted {
    case map([(key: String, value: ResolvedNode)])
    case list([ResolvedNode])
    case string(String)
    case scalar(String)
    /// A string that held a reference, with its values in place.
    case secret(SecureBytes)

    /// The value of `key` in a map.
    public subscript(key: String) -> ResolvedNode? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The item at `index` of a list.
    public subscript(index: Int) -> ResolvedNode? {
        guard case .list(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The resolved string, if this is one.
    public var secret: SecureBytes? {
        if case .secret(let bytes) = self { return bytes }
        return nil
    }
}

extension Vault {
    /// `tree` with its references resolved: every id read once, all or
    /// nothing (`ReferenceError.unresolved` names every id that failed).
    public func resolve(_ tree: ConfigNode, identities: [Identity]) throws -> ResolvedNode {
        try tree.resolved(with: resolve(tree.references(), identities: identities))
    }
}
