#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock, for bounded waits: unlike the wall clock it is
/// never stepped back or forward (NTP, the user), so a wait neither ends
/// early nor runs on.
public enum Monotonic {
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
