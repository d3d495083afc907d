#if canImport(Glibc)
import Glibc
#endif

/// A system library loaded with dlopen on first use, for the few C
/// functions GitStore needs beyond libgit2 (SHA-1 from libcrypto, deflate
/// and CRC-32 from zlib). Nothing is linked into the `coffer` binary, so a
/// command that never writes history never loads them; both are libgit2
/// dependencies on Debian, so loading them after libgit2 maps nothing new.
///
/// Immutable once loaded (the handle is never closed), hence shared.
final class DynamicLibrary: @unchecked Sendable {
    let soname: String
    private let handle: UnsafeMutableRawPointer

    init(_ soname: String, hint: String) throws {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen(\(soname)) failed"
            throw GitError.libraryUnavailable(reason + " (\(hint))")
        }
        self.soname = soname
        self.handle = handle
    }

    /// The function `name`, typed by the caller after the library's header.
    func function<T>(_ name: String, as type: T.Type) throws -> T {
        guard let pointer = dlsym(handle, name) else { throw GitError.libraryUnavailable("\(soname) has no \(name)") }
        return unsafeBitCast(pointer, to: type)
    }
}
