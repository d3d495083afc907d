#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import Posix

/// One restorer per clipboard. Two copies within the window (a user name,
/// then its password) must not give the second restorer the first value as
/// "what the clipboard held before": it would put that value back, and keep
/// its plaintext for as long as it waits. So a copy first has the running
/// restorer of its clipboard put back what it holds now, waits for it to
/// end, and only then reads the clipboard; its own restorer then holds what
/// was there before the first copy. Ending the old restorer, rather than
/// handing its previous contents to the new one, keeps the handoff one way
/// (copy → restorer) and leaves at most one waiting process per clipboard.
///
/// The running restorer is found through a pid file, named after the
/// display so that a restorer of another display is left alone, in a
/// private (0700) directory (`Locator.runtimeDirectory`). A pid is trusted
/// only while it is a `restore-clipboard` process of this user: a file left
/// by a killed restorer, or from before a reboot, may name anything.
struct ClipboardRestorer {
    /// "Restore now": blocked in the restorer from its first instruction
    /// (the spawner sets its mask), and taken only by its `sigtimedwait`,
    /// so it never ends the restorer before the clipboard is put back.
    static let restoreNow = SIGUSR1
    /// Long enough for a restorer to read and set the clipboard (a few
    /// milliseconds, unless a clipboard owner hangs); past it, it is killed.
    static let settleTimeout = 3.0
    /// A copy waits this long for another copy to the same clipboard.
    static let lockTimeout = 15.0

    private let directory: String
    private let name: String
    private var pidFile: String { "\(directory)/\(name).pid" }

    init(for clipboard: Clipboard) {
        directory = VaultSettings.locator.runtimeDirectory
        // Other bytes are %XX (a `/` too), so the name never leaves the directory.
        let safe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:=-".utf8)
        let display = "\(clipboard.tool.display)=\(clipboard.display)".utf8.map { byte in
            safe.contains(byte) ? String(UnicodeScalar(byte)) : "%" + String(byte >> 4, radix: 16) + String(byte & 15, radix: 16)
        }.joined()
        name = "clipboard-\(display)"
    }

    /// Held by a copy from ending the old restorer to setting the value, so
    /// that of two copies at once neither reads the other's value as the
    /// previous contents. The restorer never takes it.
    func lock() throws -> DirectoryLock {
        try Files.makeDirectories(directory, mode: 0o700)
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
              info.st_mode & 0o077 == 0 || chmod(directory, 0o700) == 0 else {
            throw CommandFailure("\(directory) is not a private directory of yours; nothing was copied",
                                 hint: "coffer keeps the clipboard's restorer there: make it a directory of yours, mode 700")
        }
        do {
            return try DirectoryLock(path: "\(directory)/\(name).lock", timeout: ClipboardRestorer.lockTimeout)
        } catch FileError.busy(_, let seconds) {
            throw CommandFailure("another coffer kept copying to this clipboard for \(seconds) s; nothing was copied")
        }
    }

    /// Has the running restorer, if any, put back the clipboard now, and
    /// waits for it to end. False if it had to be killed: the clipboard may
    /// then still hold the value it guarded, which is no previous contents.
    func endRunning() -> Bool {
        guard let pid = recorded(), ClipboardRestorer.isRestorer(pid) else { return true }
        kill(pid, ClipboardRestorer.restoreNow)
        if ClipboardRestorer.waitForEnd(of: pid, within: ClipboardRestorer.settleTimeout) { return true }
        kill(pid, SIGKILL)
        _ = ClipboardRestorer.waitForEnd(of: pid, within: 1)
        return false
    }

    /// Records `pid` as this clipboard's restorer (under the lock).
    func record(_ pid: pid_t) throws {
        let sink = try AtomicFileSink(path: pidFile, mode: 0o600, durable: false, writingThrough: false)
        try Array("\(pid)\n".utf8).withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }

    /// The restorer's last act: removes the file if it still names `pid`.
    /// Without the lock, which a copy holds while it waits for this very
    /// process: a copy writes the file only once the restorer it names has
    /// ended, so this never removes a newer one's.
    func withdraw(_ pid: pid_t) {
        if recorded() == pid { unlink(pidFile) }
    }

    private func recorded() -> pid_t? {
        (try? Files.readRegularFile(path: pidFile, limit: 32))
            .flatMap { pid_t(String(decoding: $0.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)) }
    }

    /// Whether `pid` is a live `coffer restore-clipboard` of this user (a
    /// zombie's command line is empty).
    private static func isRestorer(_ pid: pid_t) -> Bool {
        var info = stat()
        guard pid > 0, stat("/proc/\(pid)", &info) == 0, info.st_uid == getuid(),
              let commandLine = try? Files.read(path: "/proc/\(pid)/cmdline") else { return false }
        let argv = commandLine.split(separator: 0, omittingEmptySubsequences: false)
        return argv.count > 1 && argv[1].elementsEqual(RestoreClipboardCommand.configuration.commandName!.utf8)
    }

    private static func waitForEnd(of pid: pid_t, within seconds: Double) -> Bool {
        let deadline = Monotonic.seconds() + seconds
        while isRestorer(pid) {
            guard Monotonic.seconds() < deadline else { return false }
            usleep(10_000)
        }
        return true
    }
}

/// The detached restorer `get --copy` starts (hidden from help): reads the
/// handoff, waits, and puts the previous contents back (or empties the
/// clipboard if it held none) only if the clipboard still holds the value.
/// It waits until its time is up or a newer copy to its clipboard sends
/// `restoreNow`. It reports nothing: its output goes nowhere, and the
/// user's shell has long moved on.
struct RestoreClipboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-clipboard",
        abstract: "Internal: put back the clipboard after `get --copy`.",
        shouldDisplay: false
    )

    @Option(help: "The clipboard tool `get --copy` used.")
    var tool: Clipboard.Tool

    @Option(help: ArgumentHelp("Seconds to wait first.", valueName: "SECONDS"))
    var after: Int

    func run() throws {
        // Already blocked when `get --copy` started us; blocked here too for sigtimedwait's sake.
        var wake = sigset_t()
        sigemptyset(&wake)
        sigaddset(&wake, ClipboardRestorer.restoreNow)
        pthread_sigmask(SIG_BLOCK, &wake, nil)
        guard let input = try? Files.readSecret(from: FileDescriptorSource(fd: STDIN_FILENO, name: "standard input")),
              let handoff = ClipboardCopy.Handoff(decoding: input),
              let clipboard = try? Clipboard.find(named: tool) else { throw ExitCode.failure }
        defer { ClipboardRestorer(for: clipboard).withdraw(getpid()) }
        let deadline = Monotonic.seconds() + Double(after)
        var left = Double(after)
        while left > 0 {
            var timeout = timespec(tv_sec: Int(left), tv_nsec: Int((left - left.rounded(.down)) * 1e9))
            if sigtimedwait(&wake, nil, &timeout) == ClipboardRestorer.restoreNow { break }
            left = deadline - Monotonic.seconds()
        }
        guard let current = clipboard.read() else { throw ExitCode.failure }
        let hash = current.withUnsafeBytes { Digest.keyedHash($0, key: handoff.key) }
        guard SecureBytes(copying: hash).constantTimeEquals(SecureBytes(copying: handoff.hash)) else { return }
        try? clipboard.write(handoff.previous)
    }
}

extension Clipboard.Tool: ExpressibleByArgument {}
