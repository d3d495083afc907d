#if canImport(Glibc)
import Glibc
#endif
import CSodium
import Synchronization

/// Memory for `SecureBytes`, locked (`sodium_mlock`: not swapped, left out of
/// core dumps) as far as `RLIMIT_MEMLOCK` allows; past it, unlocked but still
/// wiped on release.
///
/// Why a pool: locking changes a mapping's flags, so each lock and unlock
/// splits and merges mappings; a locked page per buffer made `coffer get`
/// a fifth slower (3.4 → 4.1 ms, 15 buffers). Small buffers (keys, shares, derived keys) take slots of one
/// mapping locked once for the process's life; larger ones get whole pages of
/// their own, since a lock is per page and does not nest.
enum LockedMemory {
    static let slotSize = 128
    private static let slotsPerChunk = 256

    private static let free = Mutex<[UInt]>([])

    static func allocate(byteCount: Int) -> UnsafeMutableRawBufferPointer {
        if byteCount <= slotSize, let slot = takeSlot() {
            return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: slot), count: slotSize)
        }
        let page = pageSize
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: (max(byteCount, 1) + page - 1) / page * page,
                                                             alignment: page)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        _ = sodium_mlock(storage.baseAddress!, storage.count)
        return storage
    }

    /// Zeroes `storage`, then gives it back.
    static func deallocate(_ storage: UnsafeMutableRawBufferPointer) {
        if storage.count == slotSize {
            sodium_memzero(storage.baseAddress!, storage.count)
            let slot = UInt(bitPattern: storage.baseAddress!)
            free.withLock { $0.append(slot) }
        } else {
            _ = sodium_munlock(storage.baseAddress!, storage.count)
            storage.deallocate()
        }
    }

    private static func takeSlot() -> UInt? {
        free.withLock { slots in
            if slots.isEmpty {
                let size = slotSize * slotsPerChunk
                guard let chunk = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                      chunk != MAP_FAILED else { return nil }
                _ = sodium_mlock(chunk, size)
                let base = UInt(bitPattern: chunk)
                slots = (0..<slotsPerChunk).reversed().map { base + UInt($0 * slotSize) }
            }
            return slots.popLast()
        }
    }

    private static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), slotSize * 2)
}
