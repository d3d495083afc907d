#if canImport(Glibc)
import Glibc
#endif
import Posix

/// This user's own coffer settings, kept outside every vault
/// (`$XDG_CONFIG_HOME/coffer/config`): lines of `key = value`, `#` comments.
/// Today one key: `audit = on|off` (on when absent).
public struct UserSettings: Sendable, Equatable {
    /// Whether reveals and changes are recorded in the audit log.
    public var audit = true

    public init(audit: Bool = true) { self.audit = audit }

    /// The settings in `path`; the defaults when it does not exist.
    public static func load(from path: String) throws -> UserSettings {
        let bytes: [UInt8]
        do { bytes = try Files.readRegularFile(path: path, limit: 64 * 1024) } catch FileError.open(_, ENOENT) { return UserSettings() }
        var settings = UserSettings()
        for (number, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimming(" \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { String($0).trimming(" \t") }
            guard parts.count == 2 else { throw UserSettingsError.malformed(path: path, line: number + 1) }
            switch (parts[0], parts[1]) {
            case ("audit", "on"): settings.audit = true
            case ("audit", "off"): settings.audit = false
            default: throw UserSettingsError.malformed(path: path, line: number + 1)
            }
        }
        return settings
    }

    /// Writes the settings to `path` atomically, 0600 (its directory 0700 if new).
    public func save(to path: String) throws {
        try Files.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), mode: 0o700)
        let sink = try AtomicFileSink(path: path, mode: 0o600, writingThrough: false)
        try sink.write("# coffer's settings for this user (`coffer config --user`)\naudit = \(audit ? "on" : "off")\n")
        try sink.commit()
    }
}

/// A settings file coffer cannot read; it names the line, never its text.
public enum UserSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(path: String, line: Int)

    public var description: String {
        switch self {
        case .malformed(let path, let line):
            return "\(FileError.shown(path)) line \(line) is not a setting coffer knows (expected `audit = on` or `audit = off`)"
        }
    }
}
