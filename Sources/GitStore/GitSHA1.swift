/// SHA-1 as git's file formats use it — object ids, pack and index
/// checksums — from OpenSSL's libcrypto (`libcrypto.so.3`, loaded on first
/// use). SPEC §3's one exception: SHA-1 comes from a well-kept library and
/// only ever names or checksums git data; it never protects a secret (the
/// sealed files' own integrity is age's HMAC and AEAD, through libsodium).
///
/// Not copyable: it owns an OpenSSL digest context, freed when it goes.
public struct GitSHA1: ~Copyable {
    public static let length = 20

    private let lib: Functions
    private let context: OpaquePointer

    /// Throws `GitError.libraryUnavailable` when libcrypto cannot be loaded.
    public init() throws {
        let lib = try Functions.shared.get()
        guard let context = lib.newContext() else {
            throw GitError.call(function: "EVP_MD_CTX_new", code: -1, message: "out of memory")
        }
        guard lib.digestInit(context, lib.sha1(), nil) == 1 else {
            lib.freeContext(context)
            throw GitError.call(function: "EVP_DigestInit_ex", code: -1, message: "SHA-1 unavailable")
        }
        self.lib = lib
        self.context = context
    }

    deinit { lib.freeContext(context) }

    /// Feeds `bytes` to the digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        // Fails only on a context OpenSSL never set up, which init rules out.
        _ = lib.digestUpdate(context, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 20-byte digest of everything fed since `init` (or the last
    /// `finish`); the context then starts afresh.
    public mutating func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: GitSHA1.length)
        var length: UInt32 = 0
        _ = digest.withUnsafeMutableBufferPointer { lib.digestFinal(context, $0.baseAddress, &length) }
        _ = lib.digestInit(context, lib.sha1(), nil)
        return digest
    }

    /// SHA-1 of `bytes` in one call.
    public static func digest(_ bytes: [UInt8]) throws -> [UInt8] {
        var sha = try GitSHA1()
        sha.update(bytes)
        return sha.finish()
    }

    /// libcrypto's EVP digest functions, typed by hand after OpenSSL 3's
    /// `evp.h` (contexts and digests are opaque pointers; `size_t` is Int).
    private final class Functions: @unchecked Sendable {  // immutable once loaded
        static let soname = "libcrypto.so.3"
        static let shared: Result<Functions, Error> = Result { try Functions() }

        let newContext: @convention(c) () -> OpaquePointer?
        let freeContext: @convention(c) (OpaquePointer?) -> Void
        let sha1: @convention(c) () -> OpaquePointer?
        let digestInit: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32
        let digestUpdate: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
        let digestFinal: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?) -> Int32

        private init() throws {
            let lib = try DynamicLibrary(Functions.soname, hint: "install libssl3")
            newContext = try lib.function("EVP_MD_CTX_new", as: type(of: newContext))
            freeContext = try lib.function("EVP_MD_CTX_free", as: type(of: freeContext))
            sha1 = try lib.function("EVP_sha1", as: type(of: sha1))
            digestInit = try lib.function("EVP_DigestInit_ex", as: type(of: digestInit))
            digestUpdate = try lib.function("EVP_DigestUpdate", as: type(of: digestUpdate))
            digestFinal = try lib.function("EVP_DigestFinal_ex", as: type(of: digestFinal))
        }
    }
}
