#if canImport(Glibc)
import Glibc
#endif
import Posix

/// One git config file read without libgit2, for the few settings a write
/// reads (user.name and user.email, core.filemode and friends, the
/// repository's format). Anything this reader does not handle exactly as
/// git does — an include, a continued line, an unterminated quote, a boolean
/// it cannot read — throws `NativeUnsupported`, and libgit2 answers instead.
struct GitConfigFile {
    /// Values by name: section and key lowercased, a subsection as written
    /// ("remote.origin.url"); every value a name has, in file order.
    private(set) var values: [String: [String]] = [:]

    /// The settings of `path`; empty when there is no such file.
    init(path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try Files.read(path: path)
        } catch {
            if !Files.exists(path) { return }
            throw error
        }
        try parse(bytes)
    }

    init(text: String) throws { try parse(Array(text.utf8)) }

    /// The last value of `name` (section and key in any case).
    func string(_ name: String) throws -> String? {
        guard let value = values[GitConfigFile.normalized(name)]?.last else { return nil }
        guard value != GitConfigFile.bare else { throw NativeUnsupported(reason: "\(name) has no value") }
        return value
    }

    /// The value of a key written without "=": a true boolean, no string.
    private static let bare = "\u{0}"

    /// git's booleans: true/yes/on/1 (or the key alone), false/no/off/0/"".
    func bool(_ name: String) throws -> Bool? {
        guard let value = values[GitConfigFile.normalized(name)]?.last else { return nil }
        switch value.lowercased() {
        case "true", "yes", "on", GitConfigFile.bare: return true
        case "false", "no", "off", "": return false
        default:
            guard let number = Int(value) else { throw NativeUnsupported(reason: "\(name) is not a boolean") }
            return number != 0
        }
    }

    /// Whether any setting of `section` is present.
    func hasSection(_ section: String) -> Bool {
        let prefix = section.lowercased() + "."
        return values.keys.contains { $0.hasPrefix(prefix) }
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
    }

    private static func normalized(_ name: String) -> String {
        guard let first = name.firstIndex(of: "."), let last = name.lastIndex(of: ".") else { return name.lowercased() }
        return name[..<first].lowercased() + name[first..<last] + name[last...].lowercased()
    }

    private mutating func parse(_ bytes: [UInt8]) throws {
        var section: String?
        var at = 0
        func skipBlanks() { while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0d { at += 1 } }
        func atLineEnd() -> Bool { at == bytes.count || bytes[at] == 0x0a || bytes[at] == 0x23 || bytes[at] == 0x3b }
        func skipLine() { while at < bytes.count, bytes[at] != 0x0a { at += 1 } }
        while at < bytes.count {
            skipBlanks()
            if atLineEnd() {
                skipLine()
                at += 1
                continue
            }
            if bytes[at] == UInt8(ascii: "[") {
                section = try header(bytes, &at)
                if section!.hasPrefix("include") {
                    throw NativeUnsupported(reason: "config includes are left to libgit2")
                }
                skipBlanks()
                if atLineEnd() { skipLine(); at += 1 }
                continue
            }
            guard let section else { throw NativeUnsupported(reason: "a config key outside any section") }
            let start = at
            while at < bytes.count, GitConfigFile.isKeyByte(bytes[at]) { at += 1 }
            guard at > start else { throw NativeUnsupported(reason: "an unreadable config line") }
            let key = String(decoding: bytes[start..<at], as: UTF8.self).lowercased()
            skipBlanks()
            var value = GitConfigFile.bare
            if at < bytes.count, bytes[at] == UInt8(ascii: "=") {
                at += 1
                value = try GitConfigFile.value(bytes, &at)
            } else {
                guard atLineEnd() else { throw NativeUnsupported(reason: "an unreadable config line") }
                skipLine()
            }
            at += 1
            values[section + "." + key, default: []].append(value)
        }
    }

    /// `[section]`, `[section "subsection"]` or `[section.subsection]`; the
    /// name it gives keys ("section" or "section.subsection").
    private func header(_ bytes: [UInt8], _ at: inout Int) throws -> String {
        at += 1
        let start = at
        while at < bytes.count, bytes[at] != UInt8(ascii: "]"), bytes[at] != 0x20, bytes[at] != 0x09, bytes[at] != 0x0a { at += 1 }
        var name = String(decoding: bytes[start..<at], as: UTF8.self)
        if let dot = name.firstIndex(of: ".") { name = name[..<dot].lowercased() + name[dot...].lowercased() } else { name = name.lowercased() }
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 { at += 1 }
        if at < bytes.count, bytes[at] == UInt8(ascii: "\"") {
            at += 1
            var sub: [UInt8] = []
            while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
                guard bytes[at] != 0x0a else { throw NativeUnsupported(reason: "an unterminated config subsection") }
                if bytes[at] == UInt8(ascii: "\\"), at + 1 < bytes.count { at += 1 }
                sub.append(bytes[at])
                at += 1
            }
            at += 1
            name += "." + String(decoding: sub, as: UTF8.self)
        }
        guard at < bytes.count, bytes[at] == UInt8(ascii: "]") else { throw NativeUnsupported(reason: "an unreadable config section") }
        at += 1
        return name
    }

    /// A value as git reads one: blanks around it dropped, each blank
    /// inside kept as a space, quotes joining, `\"` `\\` `\n` `\t` `\b`
    /// escapes, a comment ending it.
    private static func value(_ bytes: [UInt8], _ at: inout Int) throws -> String {
        var out: [UInt8] = []
        var quoted = false
        var spaces = 0
        while at < bytes.count, bytes[at] != 0x0a {
            let byte = bytes[at]
            at += 1
            if !quoted, byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0b || byte == 0x0c {
                if !out.isEmpty { spaces += 1 }
                continue
            }
            if !quoted, byte == 0x23 || byte == 0x3b {
                while at < bytes.count, bytes[at] != 0x0a { at += 1 }
                break
            }
            out += [UInt8](repeating: 0x20, count: spaces)
            spaces = 0
            if byte == UInt8(ascii: "\"") {
                quoted.toggle()
                continue
            }
            if byte == UInt8(ascii: "\\") {
                guard at < bytes.count, bytes[at] != 0x0a else { throw NativeUnsupported(reason: "a continued config line") }
                let escaped = bytes[at]
                at += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(escaped)
                default: throw NativeUnsupported(reason: "an unknown escape in a config value")
                }
                continue
            }
            out.append(byte)
        }
        guard !quoted else { throw NativeUnsupported(reason: "an unterminated quote in a config value") }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The config files libgit2 reads for a repository, lowest priority first:
/// system, XDG, global, the repository's own.
struct GitConfigStack {
    private let files: [GitConfigFile]

    init(gitDirectory: String, local: GitConfigFile? = nil) throws {
        let home = GitConfigStack.home()
        let xdg = GitConfigStack.environment("XDG_CONFIG_HOME").flatMap { $0.isEmpty ? nil : $0 } ?? home.map { $0 + "/.config" }
        var files = [try GitConfigFile(path: "/etc/gitconfig")]
        if let xdg { files.append(try GitConfigFile(path: xdg + "/git/config")) }
        if let home { files.append(try GitConfigFile(path: home + "/.gitconfig")) }
        files.append(try local ?? GitConfigFile(path: gitDirectory + "/config"))
        self.files = files
    }

    func string(_ name: String) throws -> String? {
        for file in files.reversed() { if let value = try file.string(name) { return value } }
        return nil
    }

    func bool(_ name: String) throws -> Bool? {
        for file in files.reversed() { if let value = try file.bool(name) { return value } }
        return nil
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// $HOME, else the user's home from the password database, as libgit2 finds it.
    private static func home() -> String? {
        if let home = environment("HOME"), !home.isEmpty { return home }
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }
}
