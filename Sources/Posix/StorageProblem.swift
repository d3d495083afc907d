#if canImport(Glibc)
import Glibc
#endif

/// Why a file system refused a write, when it is something the user can
/// act on: it is full, over quota, mounted read-only, or not writable for
/// this user.
public enum StorageProblem: Equatable, Sendable, CustomStringConvertible {
    case noSpace
    case quotaExceeded
    case readOnly
    case permissionDenied

    /// The problem an errno names, if it is one of these.
    public init?(errno code: Int32) {
        switch code {
        case ENOSPC: self = .noSpace
        case EDQUOT: self = .quotaExceeded
        case EROFS: self = .readOnly
        case EACCES, EPERM: self = .permissionDenied
        default: return nil
        }
    }

    /// The problem the file system holding `path` shows right now: mounted
    /// read-only, or with less than `Self.nearlyFull` bytes left for this
    /// user. For a failure whose own report names no cause (libgit2 can
    /// repeat an earlier, unrelated message such as "failed to find pack
    /// entry" when a write fails).
    public init?(probing path: String) {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        if info.f_flag & UInt(ST_RDONLY) != 0 {
            self = .readOnly
        } else if UInt64(info.f_bavail) * UInt64(info.f_frsize) < StorageProblem.nearlyFull {
            self = .noSpace
        } else {
            return nil
        }
    }

    /// Less free space than this after a failed write is taken as its cause:
    /// well under what a vault's write needs (a sealed value alone may be
    /// 16 MiB), far above what a failed write leaves behind by chance.
    static let nearlyFull: UInt64 = 1 << 20

    /// The errnos it names, for recognising their `strerror` text in a
    /// report that quotes it (libgit2's messages do).
    public static let errnos: [Int32] = [ENOSPC, EDQUOT, EROFS, EACCES, EPERM]

    public var description: String {
        switch self {
        case .noSpace: return "no space left on device"
        case .quotaExceeded: return "disk quota exceeded"
        case .readOnly: return "read-only file system"
        case .permissionDenied: return "permission denied"
        }
    }
}

extension FileError {
    /// The errno the system call failed with, for the cases that carry one.
    public var systemError: Int32? {
        switch self {
        case .open(_, let e), .read(_, let e), .write(_, let e): return e
        default: return nil
        }
    }
}
