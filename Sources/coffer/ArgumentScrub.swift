#if canImport(Glibc)
import Glibc
#endif

/// Wipes values typed on the command line from the process's own argv, the
/// memory `/proc/PID/cmdline` and `ps` show to every local user.
///
/// Only narrows the window: the value was visible from exec until now, and may
/// stay in shell history. Hence the warning on a terminal.
enum ArgumentScrub {
    /// Zeroes what follows the first `=` of each argument equal to `argument`.
    static func wipeValue(of argument: String) {
        let wanted = Array(argument.utf8)
        guard let eq = wanted.firstIndex(of: UInt8(ascii: "=")) else { return }
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], strlen(raw) == wanted.count,
                  memcmp(raw, wanted, wanted.count) == 0 else { continue }
            memset(raw + eq + 1, 0, wanted.count - eq - 1)
        }
    }
}
