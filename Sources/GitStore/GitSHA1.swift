#if canImport(Glibc)
import Glibc
#endif
#if canImport(Crypto)
import Crypto
#endif

/// SHA-1 for git's own file formats only — the index's and packs'
/// trailing checksums, object names — never for anything that protects a
/// secret (SPEC §3). swift-crypto's `Insecure.SHA1` (BoringSSL, compiled
/// in): a write that never loads libgit2 then loads no libcrypto either,
/// whose relocations alone cost ~0.8 ms.
///
/// The fuzzers (scripts/fuzz) compile GitStore outside SwiftPM, without
/// swift-crypto; there SHA-1 comes from OpenSSL's libcrypto, loaded with
/// dlopen, as it did before swift-crypto.
public final class GitSHA1 {
    #if canImport(Crypto)
    private var hasher = Insecure.SHA1()
    #else
    private let context = LibcryptoSHA1()
    #endif
    private var finished = false

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        #if canImport(Crypto)
        hasher.update(bufferPointer: bytes)
        #else
        context.update(bytes)
        #endif
    }

    /// The 20-byte digest; call once.
    public func finish() -> [UInt8] {
        precondition(!finished, "a SHA-1 is finished once")
        finished = true
        #if canImport(Crypto)
        return hasher.finalize().withUnsafeBytes { Array($0) }
        #else
        return context.finish()
        #endif
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let hasher = GitSHA1()
        hasher.update(bytes)
        return hasher.finish()
    }
}

#if !canImport(Crypto)
/// libcrypto's `SHA1_Init`/`SHA1_Update`/`SHA1_Final`, for builds without swift-crypto.
private final class LibcryptoSHA1 {
    private typealias Initialize = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    private typealias Update = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int32
    private typealias Final = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutableRawPointer?) -> Int32
    private static let functions: (Initialize, Update, Final) = {
        guard let crypto = try? GitDependency("libcrypto", soname: "libcrypto.so.3", package: "libssl3"),
              let functions = try? (crypto.symbol("SHA1_Init", as: Initialize.self), crypto.symbol("SHA1_Update", as: Update.self),
                                    crypto.symbol("SHA1_Final", as: Final.self))
        else { fatalError("libcrypto (libssl3) is needed for SHA-1 in this build") }
        return functions
    }()
    /// Room for OpenSSL's SHA_CTX (96 bytes), to spare.
    private let context = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)

    init() { _ = LibcryptoSHA1.functions.0(context) }
    deinit { context.deallocate() }

    func update(_ bytes: UnsafeRawBufferPointer) { _ = LibcryptoSHA1.functions.1(context, bytes.baseAddress, bytes.count) }

    func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        _ = digest.withUnsafeMutableBufferPointer { LibcryptoSHA1.functions.2($0.baseAddress, context) }
        return digest
    }
}
#endif
