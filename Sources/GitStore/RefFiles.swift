#if canImport(Glibc)
import Glibc
#endif
import Posix

/// Refs read as git stores them without reftable: a loose file under
/// `.git` ("<hex>\n", or "ref: <name>\n" for a symbolic ref), else a line of
/// `packed-refs`. Anything else — a ref file git would not write — is left
/// to libgit2 (`NativeUnsupported`).
struct RefFiles {
    let gitDirectory: String
    /// Symbolic refs followed at most this deep, as git does (5).
    static let maxDepth = 5

    /// The object `name` resolves to, nil when it does not exist (an unborn branch).
    func resolve(_ name: String) throws -> ObjectID? {
        var name = name
        for _ in 0...RefFiles.maxDepth {
            switch try read(name) {
            case .none: return try packed(name)
            case .some(.id(let id)): return id
            case .some(.symbolic(let target)): name = target
            }
        }
        throw NativeUnsupported(reason: "symbolic refs nested too deep")
    }

    /// The ref `name` points to when it is symbolic (HEAD on a branch), else nil.
    func symbolicTarget(_ name: String) throws -> String? {
        if case .some(.symbolic(let target)) = try read(name) { return target }
        return nil
    }

    private enum Content {
        case id(ObjectID)
        case symbolic(String)
    }

    private func read(_ name: String) throws -> Content? {
        guard RefFiles.isPlainName(name) else { throw NativeUnsupported(reason: "ref name \(name)") }
        let path = gitDirectory + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw NativeUnsupported(reason: "ref file \(name) unreadable here")
        }
        if info.st_mode & S_IFMT == S_IFDIR { return nil }
        guard info.st_mode & S_IFMT == S_IFREG, let bytes = try? Files.readRegularFile(path: path, limit: 4096) else {
            throw NativeUnsupported(reason: "ref file \(name) unreadable here")
        }
        var text = bytes[...]
        while let last = text.last, last == 0x0a || last == 0x0d || last == 0x20 || last == 0x09 { text = text.dropLast() }
        if text.count == 40, let id = ObjectID(hexDigits: text) { return .id(id) }
        let prefix = Array("ref: ".utf8)
        if text.starts(with: prefix) {
            let target = String(decoding: text.dropFirst(prefix.count), as: UTF8.self)
            guard target.hasPrefix("refs/"), RefFiles.isPlainName(target) else { throw NativeUnsupported(reason: "symbolic ref to \(target)") }
            return .symbolic(target)
        }
        throw NativeUnsupported(reason: "ref file \(name) holds neither an id nor a symbolic ref")
    }

    /// `name` in `packed-refs` ("<hex> <name>" lines; "#" a comment, "^" a peeled tag).
    private func packed(_ name: String) throws -> ObjectID? {
        let path = gitDirectory + "/packed-refs"
        guard Files.exists(path) else { return nil }
        let bytes = try Files.read(path: path)
        let wanted = Array(name.utf8)
        for line in bytes.split(separator: 0x0a) {
            guard let first = line.first, first != UInt8(ascii: "#"), first != UInt8(ascii: "^") else { continue }
            var line = line
            if line.last == 0x0d { line = line.dropLast() }
            guard line.count == 41 + wanted.count, line[line.startIndex + 40] == 0x20,
                  line.suffix(wanted.count).elementsEqual(wanted) else { continue }
            guard let id = ObjectID(hexDigits: line.prefix(40)) else { throw NativeUnsupported(reason: "packed-refs line for \(name)") }
            return id
        }
        return nil
    }

    /// "HEAD" or "refs/…" without "..", empty or dot-led components.
    static func isPlainName(_ name: String) -> Bool {
        guard name == "HEAD" || name.hasPrefix("refs/") else { return false }
        return !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.hasPrefix(".") }
            && !name.hasSuffix(".lock")
    }
}
