#if canImport(Glibc)
import Glibc
#endif

/// SHA-1 for git's own file formats only — the index's and packs'
/// trailing checksums, object names — never for anything that protects a
/// secret (SPEC §3). From OpenSSL's libcrypto, which Debian's libgit2
/// already loads (through libssh2; see `GitDependency`).
///
/// Through `SHA1_Init`/`SHA1_Update`/`SHA1_Final`, deprecated in OpenSSL 3
/// but kept: the EVP interface would first load OpenSSL's providers and
/// configuration file, ~1 ms of every `set` for one checksum.
public final class GitSHA1 {
    /// Room for OpenSSL's SHA_CTX (96 bytes), to spare.
    private static let contextSize = 256
    private let functions: Functions
    private let context: UnsafeMutableRawPointer
    private var finished = false

    public init() throws {
        functions = try Functions.shared.get()
        context = UnsafeMutableRawPointer.allocate(byteCount: GitSHA1.contextSize, alignment: 16)
        guard functions.initialize(context) == 1 else {
            context.deallocate()
            throw GitError.libraryUnavailable("libcrypto: SHA1_Init failed")
        }
    }

    deinit { context.deallocate() }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = functions.update(context, base, bytes.count)
    }

    /// The 20-byte digest; call once.
    public func finish() -> [UInt8] {
        precondition(!finished, "a SHA-1 is finished once")
        finished = true
        var digest = [UInt8](repeating: 0, count: 20)
        _ = digest.withUnsafeMutableBufferPointer { functions.final($0.baseAddress, context) }
        return digest
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let hasher = try GitSHA1()
        hasher.update(bytes)
        return hasher.finish()
    }

    private final class Functions: @unchecked Sendable {  // function pointers only, set once
        static let shared: Result<Functions, Error> = Result { try Functions() }

        let initialize: @convention(c) (UnsafeMutableRawPointer?) -> Int32
        let update: @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int32
        let final: @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutableRawPointer?) -> Int32

        private init() throws {
            let crypto = try GitDependency("libcrypto", probe: "SHA1_Init", soname: "libcrypto.so.3", package: "libssl3")
            initialize = try crypto.symbol("SHA1_Init", as: type(of: initialize))
            update = try crypto.symbol("SHA1_Update", as: type(of: update))
            final = try crypto.symbol("SHA1_Final", as: type(of: final))
        }
    }
}
