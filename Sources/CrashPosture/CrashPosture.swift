#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Keeps secrets out of what a crash leaves behind: no core file, no
/// `/proc/PID/mem` for other processes of the same user, and no crash report
/// with register or memory bytes.
///
/// Why a handler of our own: Swift's backtracer is enabled on Linux by
/// default (when it finds `swift-backtrace`: always for a dynamically linked
/// build) and configured only by `SWIFT_BACKTRACE`, read by the runtime
/// before `main`; it prints registers and the memory they point at, and on a
/// terminal offers to dump more. Installed after the runtime's, these
/// handlers replace it with a fixed message.
public enum CrashPosture {
    /// Call first thing in `main`, before any key or value is read. A few
    /// syscalls; failures are ignored, since every step only narrows exposure.
    public static func harden() {
        _ = coffer_set_not_dumpable()
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = crashed
        // SA_ONSTACK: a stack overflow still reaches the handler when the
        // runtime has set up an alternate stack.
        action.sa_flags = Int32(SA_ONSTACK) | Int32(bitPattern: UInt32(SA_RESETHAND))
        sigemptyset(&action.sa_mask)
        // The runtime's set, SIGABRT included (abort() from C, glibc's heap checks).
        for signal in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT] {
            _ = sigaction(signal, &action, nil)
        }
    }
}

/// Async-signal-safe: one write of a constant, then `_exit` with the shell's
/// code for death by that signal.
private func crashed(_ signal: Int32) {
    let message: StaticString = "coffer: error: internal failure (crashed); no report is written, so no secret leaves the process\n"
    _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    _exit(128 + signal)
}
