#if canImport(Glibc)
import Glibc
#endif
import CGit2

/// The system's CA certificates, loaded into libgit2 only when a remote is
/// used — not by every command that opens the vault.
///
/// Debian's libgit2 uses mbedTLS, and `git_libgit2_init` parses the whole
/// CA bundle (`/etc/ssl/certs/ca-certificates.crt`, ~150 certificates) at
/// once: about 52 million instructions, a fifth of a `coffer set`, for a
/// TLS connection that `set`, `history` or `rm` never make. libgit2 has no
/// option to skip it, so the `coffer` executable interposes the one mbedTLS
/// function that reads the bundle (it exports
/// `mbedtls_x509_crt_parse_file`: see Package.swift): while libgit2
/// initialises, the call is noted and answered "loaded nothing", which
/// leaves libgit2 with an empty CA chain — so an https connection made
/// without the bundle would fail verification, never pass it. Before any
/// remote is used, `RemoteFunctions` hands the noted path back to libgit2
/// (`GIT_OPT_SET_SSL_CERT_LOCATIONS`), whose call now reaches mbedTLS's own
/// function, found through libgit2's handle (its dependency).
///
/// A libgit2 built on OpenSSL never calls the function: nothing changes.
/// A process that does not export the symbol (the test runners) loads the
/// bundle at init as before.
enum TLSCertificates {
    /// What the interposed function does; touched while libgit2 initialises
    /// (inside `LibGit2.shared`'s one-time set-up) and when remotes are first
    /// used (inside `RemoteFunctions.shared`'s), both serialised by Swift's
    /// one-time initialisation, so plain globals do.
    nonisolated(unsafe) static var deferring = false
    /// The bundle libgit2 asked for while initialising, if it did.
    nonisolated(unsafe) static var deferredPath: String?
    /// libgit2's dlopen handle: mbedTLS's own function is found through it.
    nonisolated(unsafe) static var libraryHandle: UnsafeMutableRawPointer?

    typealias ParseFile = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Int32

    /// mbedTLS's own `mbedtls_x509_crt_parse_file` (a dependency of libgit2's,
    /// so `dlsym` on libgit2's handle finds it, never the interposer).
    static func realParseFile() -> ParseFile? {
        guard let handle = libraryHandle, let pointer = dlsym(handle, "mbedtls_x509_crt_parse_file") else { return nil }
        return unsafeBitCast(pointer, to: ParseFile.self)
    }

    /// Loads the bundle libgit2 skipped at init, once, before a remote is used.
    static func loadDeferred(_ lib: LibGit2) throws {
        guard let path = deferredPath else { return }
        let rc = path.withCString { lib.libgit2OptsStrings(Int32(GIT_OPT_SET_SSL_CERT_LOCATIONS.rawValue), $0, nil) }
        try lib.check(rc, "git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS)")
        deferredPath = nil
    }
}

/// The interposer (see `TLSCertificates`). Returns what mbedTLS's function
/// returns; while deferring, 0: success, no certificate parsed.
@_cdecl("mbedtls_x509_crt_parse_file")
public func cofferInterposedX509ParseFile(_ chain: UnsafeMutableRawPointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    if TLSCertificates.deferring {
        TLSCertificates.deferredPath = path.map { String(cString: $0) }
        return 0
    }
    // MBEDTLS_ERR_X509_FILE_IO_ERROR: the library could not be reached.
    guard let real = TLSCertificates.realParseFile() else { return -0x2900 }
    return real(chain, path)
}
