import ArgumentParser
import Age
import CofferKit

extension PlaintextFormat: ExpressibleByArgument {}

/// Plaintext files in and out: dotenv and JSON in CofferKit, YAML as flat
/// JSON through the `coffer-yaml` helper (Yams).
extension PlaintextFormat {
    /// The file's bytes for `entries`, in a wiped buffer.
    func encode(_ entries: [PlaintextEntry]) throws -> SecureBytes {
        switch self {
        case .dotenv: return try Dotenv.encode(entries)
        case .json: return try FlatJSON.encode(entries)
        case .yaml: return try YAMLWriter.yaml(fromFlatJSON: FlatJSON.encode(entries))
        }
    }

    /// The entries of a file's bytes.
    func decode(_ text: SecureBytes) throws -> [PlaintextEntry] {
        switch self {
        case .dotenv: return try Dotenv.parse(text)
        case .json: return try FlatJSON.parse(text)
        case .yaml: return try FlatJSON.parse(YAMLWriter.flatJSON(fromYAML: text))
        }
    }
}
