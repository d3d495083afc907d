#if canImport(Glibc)
import Glibc
#endif

/// Hands the pages malloc holds free back to the kernel, between the phases
/// of a large job: a re-key frees thousands of small buffers (old files,
/// parsed headers) that lie among the new files, across the threads'
/// arenas, and glibc returns such pages only when asked.
public enum MemoryTrim {
    /// glibc's malloc_trim(3), a GNU extension the Swift Glibc module does not export.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    /// Costs a walk of malloc's free lists (a few milliseconds after a large
    /// job); a no-op where the C library has no malloc_trim.
    public static func releaseFreePages() {
        _ = mallocTrim?(0)
    }
}
