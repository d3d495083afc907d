#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import GitStore
import Posix

/// coffer's single voice on stderr: `coffer: error: …` and `coffer: hint: …`.
enum Console {
    static func error(_ message: String) { printErr("coffer: error: \(message)") }
    static func hint(_ message: String) { printErr("coffer: hint: \(message)") }
    static func warning(_ message: String) { printErr("coffer: warning: \(message)") }
    static func info(_ message: String) { printErr(message) }

    /// The change is committed (acknowledged) but the work tree lags behind.
    static func reportPending(_ outcome: ChangeOutcome) {
        if let audit = outcome.auditPending {
            warning("committed \(outcome.commit.map { String($0.prefix(12)) } ?? ""), but the audit log has no line for it: \(audit)")
        }
        guard let reason = outcome.workTreePending else { return }
        if case .storage(let problem, let path)? = reason as? VaultError, problem == .noSpace || problem == .quotaExceeded {
            hint("committed; updating the work tree failed (\(reason)); free some space there (`df -h \(path)`), "
                 + "and the next coffer command completes it")
            return
        }
        hint("committed; updating the work tree failed (\(reason)); the next coffer command completes it "
            + "(until then coffer keeps git's index locked, so git cannot commit the old index)")
    }

    /// Why the signatures history shows vouch for nothing, said once before
    /// them: this clone pinned no signers, or the vault turned signing off.
    static func reportUnverifiable(_ checker: SignatureChecker) {
        if !checker.isPinned {
            warning("commit signatures cannot be verified until this clone pins the vault's signers "
                    + "(check them, then `coffer signers pin`); until then every commit shows as `git`")
        } else if !checker.signingOn {
            warning("the vault's history is unverified: its signing is off, so any commit may claim to be coffer's "
                    + "(`coffer config signing on` turns it back on)")
        }
    }

    /// Paths that finishing an interrupted write left as they stand (a link,
    /// a directory or FIFO where a sealed file goes).
    static func reportObstacles(_ vault: Vault) {
        guard !vault.obstaclesLeft.isEmpty else { return }
        for obstacle in vault.obstaclesLeft {
            let path: String, what: String
            switch obstacle {
            case .symlinkInVault(let p): (path, what) = (p, "a symbolic link")
            case .notADirectory(let p): (path, what) = (p, "not a directory")
            case .notARegularFile(let p): (path, what) = (p, "not a regular file")
            default:
                warning(obstacle.description)
                continue
            }
            warning("finishing an interrupted write, coffer left \(TerminalText.escape(path)) as it is: it is \(what)")
        }
        hint("move it out of the vault, then `coffer verify --fix` writes back the committed file")
    }

    private static func printErr(_ line: String) { write(line + "\n") }

    /// While `coffer ui` holds the screen, where coffer's lines go instead
    /// of standard error (its status line); nil otherwise.
    nonisolated(unsafe) static var capture: ((String) -> Void)?

    /// Raw text on standard error (progress lines draw over themselves).
    static func write(_ text: String) {
        if let capture {
            capture(text)
            return
        }
        try? FileDescriptorSink(fd: STDERR_FILENO, name: "standard error").write(text)
    }

    /// Runs a command body, turning failures into one error line and exit code 1.
    /// Errors are rendered from their own descriptions, which never hold secrets.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ExitCode {
            throw error
        } catch {
            let report = Console.report(error)
            Console.error(report.message)
            if let hint = report.hint { Console.hint(hint) }
            throw report.usage ? ExitCode.validationFailure : ExitCode.failure
        }
    }

    /// What coffer says about a failure: its message, a hint where one
    /// helps, and whether the command line was at fault (exit 64).
    static func report(_ error: Error) -> (message: String, hint: String?, usage: Bool) {
        switch error {
        case let error as FormatRefused: return (error.description, "see `coffer \(error.command) --help`", true)
        case let error as CommandFailure: return (error.message, error.hint, false)
        case let error as VaultError: return (error.description, Hints.for(error), false)
        case let error as BundleError: return (error.description, Hints.for(error), false)
        case let error as AgeError: return (String(describing: error), hint(for: error), false)
        case let error as AuditError: return (error.description, hint(for: error), false)
        case let error as GitError: return (error.description, Hints.for(error), false)
        default: return (String(describing: error), nil, false)
        }
    }

    private static func hint(for error: AuditError) -> String {
        switch error {
        case .malformedHead(let path):
            let shown = TerminalText.escape(path)
            return "move it aside (`mv \(shown) \(shown).bad`): the next entry rebuilds it from the log; `coffer audit --verify` then checks the log"
        case .unwritable, .unreadable:
            return "nothing is revealed or changed without its audit entry; make the log writable, or turn auditing off: `coffer config --user audit off`"
        }
    }

    private static func hint(for error: AgeError) -> String? {
        switch error {
        case .noIdentityMatched: return "check that -i names the identity this file was encrypted to"
        case .unsupportedKeyType: return "coffer reads X25519 (age1…) and passphrase files"
        default: return nil
        }
    }
}

/// A failure the CLI itself detects, with an optional hint for the user.
struct CommandFailure: Error {
    let message: String
    let hint: String?

    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}
