#if canImport(Glibc)
import Glibc
#endif
import Posix

/// A counter on one line of standard error while a long job runs ("re-sealing
/// 4,096/10,000"); only on a terminal, so logs and pipes stay clean.
final class ProgressLine {
    private let label: String
    private var shown = false

    init?(_ label: String) {
        guard Files.isTerminal(2) else { return nil }
        self.label = label
    }

    func update(_ done: Int, _ total: Int) {
        Console.write("\r\(label) \(done)/\(total)")
        shown = true
    }

    /// Clears the line so the next message starts on a clean one.
    func finish() {
        if shown { Console.write("\r\u{1B}[K") }
    }

    /// Runs `body` with a progress callback for `Vault.apply`, if any.
    static func around<R>(_ label: String, _ body: (((Int, Int) -> Void)?) throws -> R) rethrows -> R {
        let line = ProgressLine(label)
        defer { line?.finish() }
        return try body(line.map { line in { line.update($0, $1) } })
    }
}
