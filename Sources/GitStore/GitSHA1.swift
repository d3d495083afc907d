import Crypto

/// SHA-1 for git's own file formats only — the index's and packs'
/// trailing checksums, object names — never for anything that protects a
/// secret (SPEC §3). swift-crypto's `Insecure.SHA1` (BoringSSL, compiled
/// in): a write that never loads libgit2 then loads no libcrypto either,
/// whose relocations alone cost ~0.8 ms.
public final class GitSHA1 {
    private var hasher = Insecure.SHA1()
    private var finished = false

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        hasher.update(bufferPointer: bytes)
    }

    /// The 20-byte digest; call once.
    public func finish() -> [UInt8] {
        precondition(!finished, "a SHA-1 is finished once")
        finished = true
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let hasher = GitSHA1()
        hasher.update(bytes)
        return hasher.finish()
    }
}
