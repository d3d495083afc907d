import CGit2

/// libgit2 is initialised at most once per process, and only by commands that
/// touch history: its start-up loads TLS certificates and costs milliseconds.
public enum GitRuntime {
    private static let initialized: Int32 = git_libgit2_init()

    /// libgit2's version, e.g. "1.5.1"; initialises the library on first use.
    public static var version: String {
        precondition(initialized >= 0, "libgit2 could not be initialised")
        var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
        git_libgit2_version(&major, &minor, &rev)
        return "\(major).\(minor).\(rev)"
    }
}
