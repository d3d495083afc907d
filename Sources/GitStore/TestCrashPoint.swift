#if DEBUG
#if canImport(Glibc)
import Glibc
#endif

/// Named steps where a debug build kills itself, as `kill -9` would, when
/// `COFFER_TEST_CRASH_AT` names the step: the crash tests' way to stop a
/// write at each step exactly, where random kills only sample them.
/// Release builds have none.
enum TestCrashPoint {
    static func reach(_ name: String) {
        guard let wanted = getenv("COFFER_TEST_CRASH_AT"), String(cString: wanted) == name else { return }
        kill(getpid(), SIGKILL)
    }
}
#endif
