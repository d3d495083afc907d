#if canImport(Glibc)
import Glibc
#endif

/// SHA-1 for git's own file formats only — the index's and packs'
/// trailing checksums, object names — never for anything that protects a
/// secret (SPEC §3). From OpenSSL's libcrypto, which Debian's libgit2
/// already loads (through libssh2): its functions are found through
/// libgit2's handle, so nothing new is loaded and no soname is guessed;
/// `libcrypto.so.3` is opened only if libgit2 was built without it.
public final class GitSHA1 {
    private let functions: Functions
    private let context: OpaquePointer
    private var finished = false

    public init() throws {
        functions = try Functions.shared.get()
        guard let context = functions.newContext() else {
            throw GitError.libraryUnavailable("libcrypto: EVP_MD_CTX_new failed")
        }
        guard functions.initialize(context, functions.sha1(), nil) == 1 else {
            functions.freeContext(context)
            throw GitError.libraryUnavailable("libcrypto: SHA-1 is not available")
        }
        self.context = context
    }

    deinit { functions.freeContext(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = functions.update(context, base, bytes.count)
    }

    /// The 20-byte digest; call once.
    public func finish() -> [UInt8] {
        precondition(!finished, "a SHA-1 is finished once")
        finished = true
        var digest = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        _ = digest.withUnsafeMutableBufferPointer { functions.final(context, $0.baseAddress, &length) }
        return Array(digest.prefix(Int(length)))
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let hasher = try GitSHA1()
        hasher.update(bytes)
        return hasher.finish()
    }

    private final class Functions: @unchecked Sendable {  // function pointers only, set once
        static let shared: Result<Functions, Error> = Result { try Functions() }

        let newContext: @convention(c) () -> OpaquePointer?
        let freeContext: @convention(c) (OpaquePointer?) -> Void
        let sha1: @convention(c) () -> OpaquePointer?
        let initialize: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32
        let update: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
        let final: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?) -> Int32

        private init() throws {
            let lib = try LibGit2.load()
            let own = dlsym(lib.handle, "EVP_sha1") != nil ? lib.handle : dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL)
            guard let library = own else { throw GitError.libraryUnavailable("libcrypto.so.3 (install libssl3)") }
            func symbol<T>(_ name: String, as type: T.Type) throws -> T {
                guard let pointer = dlsym(library, name) else { throw GitError.libraryUnavailable("libcrypto has no \(name)") }
                return unsafeBitCast(pointer, to: type)
            }
            newContext = try symbol("EVP_MD_CTX_new", as: type(of: newContext))
            freeContext = try symbol("EVP_MD_CTX_free", as: type(of: freeContext))
            sha1 = try symbol("EVP_sha1", as: type(of: sha1))
            initialize = try symbol("EVP_DigestInit_ex", as: type(of: initialize))
            update = try symbol("EVP_DigestUpdate", as: type(of: update))
            final = try symbol("EVP_DigestFinal_ex", as: type(of: final))
        }
    }
}
