import Posix

/// A file this clone keeps under `.git/coffer/` (accepted readers, trust):
/// never committed, so no push reaches it; text, replaced atomically.
enum CloneFile {
    /// Where the files are: `.git/coffer`.
    static func directory(gitDirectory: String) -> String { gitDirectory + "/coffer" }

    /// The file's text, nil when it does not exist.
    static func read(_ name: String, gitDirectory: String) throws -> String? {
        let path = gitDirectory + "/" + name
        guard Files.exists(path) else { return nil }
        do {
            return String(decoding: try Files.read(path: path), as: UTF8.self)
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// Replaces the file with `text`; `durable` syncs it before returning.
    /// `writingThrough: false` replaces a link at the path instead of writing
    /// to its target (files that hold credentials).
    static func write(_ text: String, to name: String, gitDirectory: String, durable: Bool = true, writingThrough: Bool = true) throws {
        do {
            try Files.makeDirectories(directory(gitDirectory: gitDirectory))
            let file = try AtomicFileSink(path: gitDirectory + "/" + name, durable: durable, writingThrough: writingThrough)
            try file.write(text)
            try file.commit()
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }
}
