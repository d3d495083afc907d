#if canImport(Glibc)
import Glibc
#endif

/// Replacing this process with another program (`execve`, no shell), as
/// `coffer exec` does, so the program keeps coffer's process id, receives
/// its signals and its exit status is the caller's.
public enum ProgramLaunch {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// No executable file by that name along the search path (exit 127, as shells do).
        case notFound(String)
        /// `execve` refused the file (exit 126, as shells do; 127 when it vanished).
        case cannotRun(String, errno: Int32)

        public var description: String {
            switch self {
            case .notFound(let command): return "\(command): command not found"
            case .cannotRun(let path, let code):
                let why = code == ENOEXEC ? "not an executable format (a script needs a #! line; coffer runs no shell)"
                    : String(cString: strerror(code))
                return "cannot run \(path): \(why)"
            }
        }

        public var exitStatus: Int32 {
            switch self {
            case .notFound, .cannotRun(_, ENOENT): return 127
            case .cannotRun: return 126
            }
        }
    }

    /// The file `command` names: itself when it holds a `/`; else the first
    /// executable regular file of that name in `searchPath`'s directories
    /// (`:`-separated; empty entries are skipped, never meaning the current
    /// directory). With `absoluteOnly`, relative entries (`.`, `bin`) are
    /// skipped too, and a command holding a `/` is not found: age plugins
    /// must never be taken from the working directory.
    public static func locate(_ command: [UInt8], searchPath: [UInt8], absoluteOnly: Bool = false) throws -> [UInt8] {
        let shown = String(decoding: command, as: UTF8.self)
        if command.contains(UInt8(ascii: "/")) {
            if absoluteOnly { throw Failure.notFound(shown) }
            return command
        }
        guard !command.isEmpty else { throw Failure.notFound(shown) }
        for directory in searchPath.split(separator: UInt8(ascii: ":"))
        where !absoluteOnly || directory.first == UInt8(ascii: "/") {
            let candidate = Array(directory) + [UInt8(ascii: "/")] + command
            if isExecutableFile(candidate) { return candidate }
        }
        throw Failure.notFound(shown)
    }

    /// Replaces the process image; returns only if `execve` failed.
    public static func replace(path: [UInt8], arguments: [UnsafeMutablePointer<CChar>?],
                               environment: [UnsafeMutablePointer<CChar>?]) -> Failure {
        let code: Int32 = withCString(path) { execve($0, arguments, environment); return errno }
        return .cannotRun(String(decoding: path, as: UTF8.self), errno: code)
    }

    private static func isExecutableFile(_ path: [UInt8]) -> Bool {
        withCString(path) { file in
            var info = stat()
            return stat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && access(file, X_OK) == 0
        }
    }

    private static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }
}
