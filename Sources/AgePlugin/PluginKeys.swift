import Age

/// A plugin's name, as C2SP age-plugin.md defines it: one or more of
/// `A-Z a-z 0-9 - _ . +`, compared lowercase. It never holds a `/`, so the
/// binary `age-plugin-NAME` can only be looked up on PATH.
enum PluginName {
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "+")
        }
    }

    static func binary(_ name: String) -> String { "age-plugin-" + name }
}

/// A plugin recipient, `age1NAME1…` (Bech32 with no length limit). It is
/// public, so errors quote it; what it encodes is the plugin's business.
public struct PluginRecipient: Hashable, Sendable, CustomStringConvertible {
    /// The plugin's name, lowercase: the binary is `age-plugin-NAME`.
    public let name: String
    /// The recipient as given (lowercase Bech32), sent to the plugin as is.
    public let encoded: String

    public init(parsing text: String) throws {
        guard text.utf8.count <= PluginRecipient.maxLength, let (hrp, _) = Bech32.decode(Array(text.utf8)),
              hrp.hasPrefix("age1"), hrp == hrp.lowercased()
        else { throw PluginError.invalidRecipient(text) }
        let name = String(hrp.dropFirst(4))
        guard PluginName.isValid(name) else { throw PluginError.invalidRecipient(text) }
        self.name = name
        encoded = text
    }

    /// Bounds what one recipient may cost to decode and send; no length limit
    /// is in the format, but no plugin needs a megabyte.
    static let maxLength = 64 * 1024

    public var description: String { encoded }
}

/// A plugin identity, `AGE-PLUGIN-NAME-1…` (uppercase Bech32). It may hold
/// key material or only say where a key lives; either way it is treated as
/// a secret: the encoding stays in a wiped buffer, is sent to the plugin
/// only, and is never quoted in an error or a description.
public struct PluginIdentity: @unchecked Sendable, Redacted {
    // Sendable although SecureBytes is a class: the buffer is private to this
    // value, filled once in init and only ever read afterwards.

    /// The plugin's name, lowercase: the binary is `age-plugin-NAME`.
    public let name: String
    /// The whole `AGE-PLUGIN-NAME-1…` text, as the plugin receives it.
    let encoding: SecureBytes

    /// Parses the Bech32 text from bytes, so callers keep it out of `String`s.
    public init<C: Collection>(parsing text: C) throws where C.Element == UInt8 {
        guard text.count <= PluginRecipient.maxLength, let (hrp, _) = Bech32.decode(text),
              hrp.hasPrefix("AGE-PLUGIN-"), hrp.hasSuffix("-"), hrp.count > "AGE-PLUGIN--".count, hrp == hrp.uppercased()
        else { throw PluginError.invalidIdentity("not a valid AGE-PLUGIN-NAME-1 string") }
        let name = String(hrp.dropFirst("AGE-PLUGIN-".count).dropLast()).lowercased()
        guard PluginName.isValid(name) else { throw PluginError.invalidIdentity("not a valid plugin name") }
        self.name = name
        encoding = SecureBytes(copying: text)
    }

    public init(parsing text: SecureBytes) throws {
        try self = text.withUnsafeBytes { try PluginIdentity(parsing: $0) }
    }

    public var redactedDescription: String { "PluginIdentity(<redacted>, plugin \(name))" }
}
