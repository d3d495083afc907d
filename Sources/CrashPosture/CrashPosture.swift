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
        var limit = rlimit()
        if getrlimit(coreResource, &limit) == 0 {
            if inherited == nil { inherited = limit }
            // The soft limit alone decides whether a core is written; the
            // hard one is kept, since lowering it could never be undone for
            // a program coffer hands the process to (`relaxForExec`).
            var none = rlimit(rlim_cur: 0, rlim_max: limit.rlim_max)
            _ = setrlimit(coreResource, &none)
        }
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

    /// Runs first when the process crashes, before the message: async-signal-
    /// safe calls only. `coffer ui` sets it to put the terminal back, which
    /// clears a revealed value off the screen.
    nonisolated(unsafe) public static var beforeExit: (@convention(c) () -> Void)?

    /// Right before `execve` of another program (`coffer exec`): gives back
    /// the core-size limit coffer inherited, so the program's is its own.
    ///
    /// The dumpable flag is deliberately left off: execve sets it anew for
    /// the new image (1 for an ordinary program, the kernel's choice for a
    /// set-id one), and turning it on here would open coffer's memory, the
    /// identity's key included, to the user's other processes until then.
    /// The crash handlers need no undoing either: execve resets handled
    /// signals to their defaults. If execve fails, call `harden()` again.
    public static func relaxForExec() {
        guard var limit = inherited else { return }
        _ = setrlimit(coreResource, &limit)
    }

    private static let coreResource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
    /// The core-size limit the process started with: written once, by the
    /// first `harden()` at the start of main, before any thread exists.
    nonisolated(unsafe) private static var inherited: rlimit?
}

/// Async-signal-safe: one write of a constant, then `_exit` with the shell's
/// code for death by that signal.
private func crashed(_ signal: Int32) {
    CrashPosture.beforeExit?()
    let message: StaticString = "coffer: error: internal failure (crashed); no report is written, so no secret leaves the process\n"
    _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    _exit(128 + signal)
}
