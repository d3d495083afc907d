#if canImport(Glibc)
import Glibc
#endif
import CSodium

/// Owns key material or plaintext and zeroes it when released.
///
/// The bytes are reachable only inside `withUnsafeBytes` / `withUnsafeMutableBytes`
/// scopes; the type is deliberately not `CustomStringConvertible`, `Codable` or
/// `Hashable`, so a value cannot be printed, serialised or logged by accident.
/// The pages are locked (`sodium_mlock`: not swapped, not in a core dump) as far
/// as `RLIMIT_MEMLOCK` allows; past it they stay unlocked, but are still wiped.
public final class SecureBytes {
    private let storage: UnsafeMutableRawBufferPointer
    /// The number of meaningful bytes; may be lowered with `truncate(to:)`.
    public private(set) var count: Int

    /// A zero-filled buffer of `count` bytes.
    public init(count: Int) {
        precondition(count >= 0)
        Sodium.ensureInitialized()
        // Whole pages of its own: a lock is per page and does not nest, so a
        // buffer sharing a page would lose its lock when a neighbour unlocks.
        let page = SecureBytes.pageSize
        storage = .allocate(byteCount: (max(count, 1) + page - 1) / page * page, alignment: page)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        _ = sodium_mlock(storage.baseAddress!, storage.count)
        self.count = count
    }

    /// Copies `bytes`; the caller stays responsible for wiping its own copy.
    public convenience init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        self.init(count: bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: storage[0..<bytes.count]).copyBytes(from: bytes)
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if bytes.count > 0 { storage.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
    }

    /// `count` bytes from libsodium's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        let bytes = SecureBytes(count: count)
        if count > 0 { randombytes_buf(bytes.storage.baseAddress!, count) }
        return bytes
    }

    deinit {
        // Zeroes, then unlocks; harmless on pages the lock did not reach.
        _ = sodium_munlock(storage.baseAddress!, storage.count)
        storage.deallocate()
    }

    private static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 16)

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Shortens the meaningful region, wiping what falls outside it.
    public func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count)
        if newCount < count {
            sodium_memzero(storage.baseAddress! + newCount, count - newCount)
        }
        count = newCount
    }

    /// Constant-time comparison, so equality checks on keys leak no timing.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(storage.baseAddress!, other.storage.baseAddress!, count) == 0
    }
}
