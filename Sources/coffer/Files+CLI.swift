#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Posix

/// Files the CLI reads and writes for the user (bundles, recipient lists).
enum InputFile {
    /// A regular file, read whole, refused past `limit` bytes.
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        do {
            return try Files.readRegularFile(path: path, limit: limit)
        } catch let error as FileError {
            throw CommandFailure(error.description)
        }
    }
}

enum OutputFile {
    /// Written whole or not at all (a temporary file renamed into place), with `mode`.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let file = try AtomicFileSink(path: path, mode: mode)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }

    /// The same for plaintext values, written from their wiped buffer.
    static func write(_ secret: SecureBytes, to path: String, mode: mode_t) throws {
        let file = try AtomicFileSink(path: path, mode: mode)
        try secret.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}

/// `--to-file`: one `age1…` per line, `#` comments and blank lines, as `age -R` reads.
enum RecipientList {
    static func read(path: String) throws -> [X25519Recipient] {
        let text = String(decoding: try InputFile.read(path, limit: 1 << 20), as: UTF8.self)
        return try Vault.recipients(parsing: text, path: path)
    }
}
