import CSodium

/// Owns key material or plaintext and zeroes it when released.
///
/// The bytes are reachable only inside `withUnsafeBytes` / `withUnsafeMutableBytes`
/// scopes; printed or mirrored it shows only its size (`Redacted`), and it is
/// deliberately not `Codable` or `Hashable`, so a value cannot be printed,
/// serialised or logged by accident.
/// The memory is locked as far as `RLIMIT_MEMLOCK` allows (`LockedMemory`).
public final class SecureBytes: Redacted {
    private let storage: UnsafeMutableRawBufferPointer
    /// The number of meaningful bytes; may be lowered with `truncate(to:)`.
    public private(set) var count: Int

    /// A zero-filled buffer of `count` bytes.
    public init(count: Int) {
        precondition(count >= 0)
        Sodium.ensureInitialized()
        storage = LockedMemory.allocate(byteCount: count)
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

    public var redactedDescription: String { "SecureBytes(<redacted>, \(count) bytes)" }

    deinit {
        LockedMemory.deallocate(storage)
    }

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
