#if canImport(Glibc)
import Glibc
#endif

/// What stands at a path, as `lstat` sees it: a link is reported as a link
/// and never followed, and nothing is opened, so a FIFO or a device cannot
/// block the caller.
public enum FileKind: Equatable, Sendable {
    /// Nothing (or a path through something that is not a directory).
    case absent
    case regular
    case directory
    case symlink
    /// A FIFO, socket or device.
    case special

    public init(atPath path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            self = .absent
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symlink
        default: self = .special
        }
    }
}
