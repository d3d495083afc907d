#if canImport(Glibc)
import Glibc
#endif

/// Where a command's time goes, phase by phase, printed to standard error
/// at exit when `COFFER_TIMINGS` is set (`scripts/bench` and
/// docs/PERFORMANCE.md use it for the breakdown of `set`). Names and
/// milliseconds only: never an id, a path or a value. Off, each mark is
/// one load of a flag.
public enum PhaseTimings {
    private nonisolated(unsafe) static var marks: [(phase: StaticString, at: Double)] = []
    private nonisolated(unsafe) static var enabled = false
    private nonisolated(unsafe) static var started = 0.0

    /// Called first thing in main. The time before it — exec, loading,
    /// relocation — is the process's start, which `coffer --version` shows.
    public static func begin() {
        guard getenv("COFFER_TIMINGS") != nil else { return }
        enabled = true
        started = Monotonic.seconds()
        atexit { PhaseTimings.report() }
    }

    /// The phase that ends now. Marks from one thread only (the command's).
    public static func mark(_ phase: StaticString) {
        guard enabled else { return }
        marks.append((phase, Monotonic.seconds()))
    }

    private static func report() {
        var last = started
        var line = "coffer timings (ms):"
        for (phase, at) in marks {
            line += " \(phase) \(milliseconds(at - last))"
            last = at
        }
        line += " | total after start \(milliseconds(last - started))\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }

    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
