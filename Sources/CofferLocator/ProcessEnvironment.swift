#if canImport(Glibc)
import Glibc
#endif

extension Locator {
    /// Every `NAME=VALUE` entry of the process's environment, byte for byte
    /// (an entry need not be UTF-8), in its order: what `coffer exec` passes on.
    public static func processEnvironment() -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var entry = environ
        while let pointer = entry.pointee {
            entries.append(Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))))
            entry += 1
        }
        return entries
    }
}
