#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import Posix

/// `get --copy`: the value goes on the clipboard, and after a while the
/// clipboard gets back what it held before, unless it changed meanwhile
/// (as `pass -c` does). The putting back is done by a detached coffer
/// process (`restore-clipboard`), so the shell gets its prompt at once.
/// That process is never given the value: only a keyed hash of it under a
/// fresh random key, enough to tell whether the clipboard still holds it.
/// A clipboard has at most one (`ClipboardRestorer`).
enum ClipboardCopy {
    static let defaultClearAfter = 45
    /// Up to a day; 0 leaves the value on the clipboard.
    static let clearAfterRange = 0...86_400

    /// Copies `value`, first ending the clipboard's running restorer (which
    /// puts back what it guards), then starting a new one when `clearAfter`
    /// > 0. A restorer that had to be killed leaves no previous contents
    /// worth keeping: the clipboard is then emptied in the end.
    static func copy(_ value: SecureBytes, to clipboard: Clipboard, clearAfter seconds: Int) throws {
        let restorer = ClipboardRestorer(for: clipboard)
        let lock = try restorer.lock()
        defer { _ = lock }
        let settled = restorer.endRunning()
        if seconds > 0 {
            let key = SecureBytes.random(count: Digest.keyedHashSize)
            let hash = value.withUnsafeBytes { Digest.keyedHash($0, key: key) }
            let handoff = Handoff(key: key, hash: hash, previous: settled ? clipboard.read() : nil)
            try startRestorer(restorer, for: clipboard, after: seconds, handoff: handoff)
        }
        try clipboard.write(value)
    }

    /// What the restorer reads on its standard input, through a pipe: the
    /// hash key, the keyed hash of the value, then a byte saying whether
    /// the clipboard held text before, and that text.
    struct Handoff {
        let key: SecureBytes
        let hash: [UInt8]
        let previous: SecureBytes?

        func encoded() -> SecureBytes {
            let size = Digest.keyedHashSize
            let bytes = SecureBytes(count: 2 * size + 1 + (previous?.count ?? 0))
            bytes.withUnsafeMutableBytes { out in
                key.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: size) }
                UnsafeMutableRawBufferPointer(rebasing: out[size..<2 * size]).copyBytes(from: hash)
                out[2 * size] = previous == nil ? 0 : 1
                previous?.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[(2 * size + 1)...]).copyMemory(from: $0) }
            }
            return bytes
        }
    }

    /// Starts `coffer restore-clipboard` in a session of its own, hands it
    /// `handoff` and records it as the clipboard's restorer; does not wait
    /// for it.
    private static func startRestorer(_ restorer: ClipboardRestorer, for clipboard: Clipboard, after seconds: Int,
                                      handoff: Handoff) throws {
        let argv = [Executable.path, RestoreClipboardCommand.configuration.commandName!,
                    "--tool", clipboard.tool.rawValue, "--after", String(seconds)]
        signal(SIGPIPE, SIG_IGN)
        let child = try Subprocess.spawn(argv, input: true, output: false, detached: true, blocked: [ClipboardRestorer.restoreNow])
        defer { close(child.stdin) }
        do {
            try handoff.encoded().withUnsafeBytes { try FileDescriptorSink(fd: child.stdin, name: "restore-clipboard").write($0) }
            try restorer.record(child.pid)
        } catch {
            kill(child.pid, SIGKILL)
            throw CommandFailure("could not start the process that restores the clipboard; nothing was copied")
        }
    }
}

extension ClipboardCopy.Handoff {
    /// Nil for anything but what `encoded` writes.
    init?(decoding bytes: SecureBytes) {
        let size = Digest.keyedHashSize
        guard bytes.count > 2 * size else { return nil }
        let parsed: (SecureBytes, [UInt8], SecureBytes?)? = bytes.withUnsafeBytes { all in
            let rest = all[(2 * size + 1)...]
            guard all[2 * size] == 1 || (all[2 * size] == 0 && rest.isEmpty) else { return nil }
            return (SecureBytes(copying: all[..<size]), Array(all[size..<2 * size]),
                    all[2 * size] == 1 ? SecureBytes(copying: UnsafeRawBufferPointer(rebasing: rest)) : nil)
        }
        guard let parsed else { return nil }
        (key, hash, previous) = parsed
    }
}
