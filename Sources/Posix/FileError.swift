#if canImport(Glibc)
import Glibc
#endif
import Age

/// Errors from the file system, carrying the path and errno, never contents.
public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(path: String, errno: Int32)
    case write(path: String, errno: Int32)
    case exists(path: String)
    /// Not a regular file (a FIFO, socket, device or directory).
    case notRegular(path: String)
    /// Larger than the reader accepts.
    case tooLarge(path: String, bytes: Int, limit: Int)
    /// Another process held the lock on `path` for all of `waitedSeconds`.
    case busy(path: String, waitedSeconds: Int)

    public var description: String {
        switch self {
        case .open(let p, let e): return "cannot open \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .read(let p, let e): return "cannot read \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .write(let p, let e): return "cannot write \(FileError.shown(p)): \(String(cString: strerror(e)))"
        case .exists(let p): return "\(FileError.shown(p)) already exists; refusing to overwrite it"
        case .notRegular(let p): return "\(FileError.shown(p)) is not a regular file"
        case .tooLarge(let p, let n, let limit): return "\(FileError.shown(p)) is \(n) bytes, over the limit of \(limit)"
        case .busy(let p, let s): return "\(FileError.shown(p)) is locked by another process (waited \(s) s)"
        }
    }

    /// A path as shown in errors: a private key pasted where a file name
    /// belongs (`-i AGE-SECRET-KEY-1…`) must not be echoed back (`Redaction`).
    public static func shown(_ path: String) -> String { Redaction.shown(path) }
}

