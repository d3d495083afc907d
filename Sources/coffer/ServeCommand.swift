#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CrashPosture
import Posix

/// `coffer serve` runs `coffer-serve`, installed beside coffer, in its
/// place, with the arguments as given: the server is a program of its own
/// so that coffer's start and size never pay for SwiftNIO and Hummingbird.
/// Its options and help are its own (`coffer serve --help`).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the vault over HTTP to this host's tokens (coffer-serve; see `coffer serve --help`).",
        helpNames: []
    )

    static let helperName = "coffer-serve"

    @Argument(parsing: .captureForPassthrough, help: "coffer-serve's options (see `coffer serve --help`).")
    var arguments: [String] = []

    func run() throws {
        let helper = YAMLWriter.directory(of: Executable.path) + "/" + ServeCommand.helperName
        guard access(helper, X_OK) == 0 else {
            throw CommandFailure("coffer serve needs \(ServeCommand.helperName) beside coffer (\(helper) is missing)",
                                 hint: "install both with scripts/install")
        }
        let argv = ([ServeCommand.helperName] + arguments).map { strdup($0) } + [nil]
        CrashPosture.relaxForExec()
        var environment: [UnsafeMutablePointer<CChar>?] = []
        while let entry = environ[environment.count] { environment.append(entry) }
        let failure = ProgramLaunch.replace(path: Array(helper.utf8), arguments: argv, environment: environment + [nil])
        CrashPosture.harden()
        throw CommandFailure("cannot run \(helper): \(failure)")
    }
}
