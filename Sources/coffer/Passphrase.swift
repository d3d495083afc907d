#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix
import CofferKit

/// Where passphrases come from: the terminal (echo off), or a file named by
/// `--passphrase-file` for scripts and tests. Never an environment variable,
/// which would leak into child processes and /proc.
struct PassphraseSource {
    let file: String?

    func read(prompt: String, confirm: Bool = false) throws -> SecureBytes {
        if let file { return try Files.readFirstSecretLine(path: file) }
        let first = try PassphraseSource.readFromTerminal(prompt: prompt)
        if confirm {
            let second = try PassphraseSource.readFromTerminal(prompt: "Confirm passphrase: ")
            guard first.constantTimeEquals(second) else { throw CommandFailure("passphrases do not match") }
        }
        guard first.count > 0 else { throw CommandFailure("empty passphrase") }
        return first
    }

    /// A short non-secret answer typed at the terminal.
    static func readLine(prompt: String, echo: Bool) throws -> String {
        let answer = try readFromTerminal(prompt: prompt, echo: echo)
        return answer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.lowercased()
    }

    static func readFromTerminal(prompt: String, echo: Bool = false) throws -> SecureBytes {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CommandFailure("no terminal to read a passphrase from", hint: "pass --passphrase-file FILE")
        }
        defer { close(tty) }
        var saved = termios()
        let hasTermios = !echo && tcgetattr(tty, &saved) == 0
        if hasTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            EchoGuard.arm(tty: tty, saved: saved)
            tcsetattr(tty, TCSAFLUSH, &quiet)
        }
        defer {
            if hasTermios {
                tcsetattr(tty, TCSAFLUSH, &saved)
                EchoGuard.disarm()
                _ = Glibc.write(tty, "\n", 1)
            }
        }
        _ = Array(prompt.utf8).withUnsafeBytes { Glibc.write(tty, $0.baseAddress, $0.count) }
        let line = SecureBytes(count: 1024)
        var count = 0
        var byte: UInt8 = 0
        while true {
            let n = Glibc.read(tty, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0x0A || byte == 0x0D { break }
            guard count < line.count else {
                byte = 0
                throw CommandFailure("input longer than \(line.count) bytes", hint: "use --passphrase-file or --file for long values")
            }
            line.withUnsafeMutableBytes { $0[count] = byte }
            count += 1
        }
        byte = 0
        line.truncate(to: count)
        return line
    }
}

/// Restores terminal echo if the user interrupts a hidden prompt (Ctrl-C,
/// SIGTERM), then lets the signal end the process as usual.
enum EchoGuard {
    nonisolated(unsafe) static var tty: Int32 = -1
    nonisolated(unsafe) static var saved = termios()

    static func arm(tty: Int32, saved: termios) {
        EchoGuard.saved = saved
        EchoGuard.tty = tty
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            signal(sig) { sig in
                if EchoGuard.tty >= 0 { tcsetattr(EchoGuard.tty, TCSANOW, &EchoGuard.saved) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }

    static func disarm() {
        tty = -1
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { signal(sig, SIG_DFL) }
    }
}
