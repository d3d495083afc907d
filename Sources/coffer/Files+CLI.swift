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

    /// Plaintext output (export, render) is refused in the vault's work tree:
    /// a file there would be one `git add .` away from a commit,
    /// whether named directly or through a link (the link is written through).
    static func refuseInside(_ vault: Vault, _ path: String) throws {
        guard let root = realpath(vault.root, nil) else { return }
        defer { free(root) }
        let vaultRoot = String(cString: root)
        func inside(_ resolved: String) -> Bool { resolved == vaultRoot || resolved.hasPrefix(vaultRoot + "/") }
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            // A link that leads nowhere yet would create its target: refuse what cannot be checked.
            guard let target = realpath(path, nil) else {
                throw CommandFailure("\(TerminalText.escape(path)) is a link to a file that does not exist; nothing was written",
                                     hint: "name the file itself")
            }
            defer { free(target) }
            if inside(String(cString: target)) { throw insideVault(path) }
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        guard let resolved = realpath(directory.isEmpty ? "/" : directory, nil) else { return }
        defer { free(resolved) }
        if inside(String(cString: resolved)) { throw insideVault(path) }
    }

    /// `render FILE -o FILE` (by any name or link) would replace a template,
    /// which lives in an application's repository, with its values: one
    /// `git commit -a` from publishing them.
    static func refuseSame(_ path: String, as input: String) throws {
        var out = stat(), template = stat()
        guard stat(path, &out) == 0, stat(input, &template) == 0,
              out.st_dev == template.st_dev, out.st_ino == template.st_ino else { return }
        throw CommandFailure("\(TerminalText.escape(path)) is the template itself, which the values would replace; nothing was written",
                             hint: "write the result to another file, outside the application's repository")
    }

    private static func insideVault(_ path: String) -> CommandFailure {
        CommandFailure("\(TerminalText.escape(path)) is inside the vault, where a plaintext file could be committed; nothing was written",
                       hint: "write it outside the vault's directory")
    }
}

/// `--to-file`: one `age1…` per line, `#` comments and blank lines, as `age -R` reads.
enum RecipientList {
    static func read(path: String) throws -> [ReaderKey] {
        let text = String(decoding: try InputFile.read(path, limit: 1 << 20), as: UTF8.self)
        return try Vault.recipients(parsing: text, path: path)
    }
}
