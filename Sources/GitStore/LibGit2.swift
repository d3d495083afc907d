#if canImport(Glibc)
import Glibc
#endif
import CGit2

/// libgit2, loaded with dlopen on first use and initialised exactly once.
///
/// Linking libgit2 would make every coffer process pay for loading it and its
/// dependencies (TLS, SSH, Kerberos…) before main, about 3 ms here; commands
/// that never touch history (`coffer age`, get, list, exec) must not. The
/// soname comes from the headers we compiled against, so the ABI matches.
final class LibGit2 {
    static let soname = "libgit2.so.\(LIBGIT2_SOVERSION)"

    /// The loaded library, or why it could not be loaded.
    static let shared: Result<LibGit2, Error> = Result { try LibGit2() }

    static func load() throws -> LibGit2 { try shared.get() }

    private let handle: UnsafeMutableRawPointer
    let version: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    let lastError: @convention(c) () -> UnsafePointer<git_error>?

    private init() throws {
        guard let handle = dlopen(LibGit2.soname, RTLD_NOW | RTLD_LOCAL) else {
            throw GitError.libraryUnavailable(LibGit2.dlerrorText() + " (install libgit2)")
        }
        self.handle = handle
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw GitError.libraryUnavailable("\(LibGit2.soname) has no \(name)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        let initialize = try symbol("git_libgit2_init", as: (@convention(c) () -> Int32).self)
        version = try symbol("git_libgit2_version", as: type(of: version))
        lastError = try symbol("git_error_last", as: type(of: lastError))
        let rc = initialize()
        guard rc >= 0 else { throw GitError.call(function: "git_libgit2_init", code: rc, message: "initialisation failed") }
    }

    /// Converts a libgit2 return code into a thrown error with its message.
    func check(_ rc: Int32, _ function: String) throws {
        guard rc < 0 else { return }
        let message = lastError().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown error"
        throw GitError.call(function: function, code: rc, message: message)
    }

    private static func dlerrorText() -> String {
        dlerror().map { String(cString: $0) } ?? "dlopen(\(soname)) failed"
    }
}

/// Facts about the libgit2 this process uses.
public enum GitRuntime {
    /// libgit2's version, e.g. "1.5.1"; loads the library on first use.
    public static func version() throws -> String {
        let lib = try LibGit2.load()
        var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
        try lib.check(lib.version(&major, &minor, &rev), "git_libgit2_version")
        return "\(major).\(minor).\(rev)"
    }
}
