#if canImport(Glibc)
import Glibc
#endif
import Posix

/// A file this clone keeps under `.git/coffer/` (accepted readers, trust):
/// never committed, so no push reaches it; text, replaced atomically.
enum CloneFile {
    /// Where the files are: `.git/coffer`.
    static func directory(gitDirectory: String) -> String { gitDirectory + "/coffer" }

    /// Far above any of these files (a token list, the readers of many scopes).
    static let limit = 16 << 20

    /// The file's text, nil when it does not exist. Only a regular file is
    /// read, never through a link, never a FIFO, and at most `limit` bytes.
    static func read(_ name: String, gitDirectory: String) throws -> String? {
        do {
            return String(decoding: try Files.readRegularFile(path: gitDirectory + "/" + name, limit: limit), as: UTF8.self)
        } catch FileError.open(_, ENOENT) {
            return nil
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// Replaces the file with `text` (a link at its path is replaced, never
    /// written through); `durable` syncs it before returning.
    static func write(_ text: String, to name: String, gitDirectory: String, durable: Bool = true) throws {
        do {
            try Files.makeDirectories(directory(gitDirectory: gitDirectory))
            let file = try AtomicFileSink(path: gitDirectory + "/" + name, durable: durable, writingThrough: false)
            try file.write(text)
            try file.commit()
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }
}
