import ArgumentParser
import Age
import CofferKit

/// Plaintext formats for values leaving or entering the vault unsealed.
/// (Placeholder: the plaintext import and export are being built.)
enum PlaintextFormat: String, ExpressibleByArgument, CaseIterable {
    case dotenv, json, yaml
}

struct PlaintextExport {
    let prefix: Prefix
    let format: PlaintextFormat
    let output: String?
    let reveal: Bool
    let yes: Bool
    let options: VaultOptions

    func run() throws { throw CommandFailure("plaintext export is not built yet") }
}

enum PlaintextImport {
    static func read(_ path: String, as format: PlaintextFormat) throws -> [(key: String, value: SecureBytes)] {
        throw CommandFailure("plaintext import is not built yet")
    }
}
