#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Posix

/// YAML through `coffer-yaml`, installed beside coffer, which reads and
/// writes it with Yams. Yams brings all of Foundation and ICU; in a program
/// of its own, only YAML pays their start-up cost. Documents travel through
/// pipes, never files; the helper's output is read into a wiped buffer.
enum YAMLWriter {
    static let helperName = "coffer-yaml"

    /// `-o yaml`: a JSON document (as `-o json` prints it) as YAML.
    static func yaml(fromJSON json: String) throws -> String {
        var json = json
        let text = try json.withUTF8 { try run([], input: UnsafeRawBufferPointer($0), for: "-o yaml").output }
        return text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// `export --format yaml`: a flat JSON object of plaintext values as YAML.
    static func yaml(fromFlatJSON json: SecureBytes) throws -> SecureBytes {
        try json.withUnsafeBytes { try run([], input: $0, for: "--format yaml").output }
    }

    /// `import --from yaml`: a flat YAML mapping of strings as a JSON object.
    /// The helper refuses anything else with exit status 2 and its reason
    /// (its own words and keys, never a value) on standard output.
    static func flatJSON(fromYAML yaml: SecureBytes) throws -> SecureBytes {
        let (output, refused) = try yaml.withUnsafeBytes { try run(["--flat-json"], input: $0, for: "--from yaml", refusal: 2) }
        guard !refused else {
            throw PlaintextError.notFlatYAML(reason: output.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        }
        return output
    }

    /// Runs the helper with `arguments`, `input` on its standard input: its
    /// standard output, and whether it exited with `refusal`.
    private static func run(_ arguments: [String], input: UnsafeRawBufferPointer, for purpose: String,
                            refusal: Int32? = nil) throws -> (output: SecureBytes, refused: Bool) {
        let helper = try Helper(arguments, for: purpose)
        // The helper reads the whole document before it writes: no deadlock.
        let written = Result { try helper.input.write(input) }
        helper.closeInput()
        let output = Result { try Files.readSecret(from: helper.output) }
        let exited = helper.finish()
        guard (try? written.get()) != nil, let text = try? output.get(), exited == 0 || exited == refusal else {
            throw CommandFailure("\(helperName) could not " + (arguments.isEmpty ? "write the document as YAML" : "read the document as YAML"))
        }
        return (text, exited != 0)
    }

    /// The helper running, its standard input and output on pipes.
    final class Helper {
        let input: FileDescriptorSink
        let output: FileDescriptorSource
        private let pid: pid_t
        private var inputOpen = true
        private var exitStatus: Int32?

        init(_ arguments: [String], for purpose: String) throws {
            let helper = YAMLWriter.directory(of: Executable.path) + "/" + helperName
            guard access(helper, X_OK) == 0 else {
                throw CommandFailure("\(purpose) needs \(helperName) beside coffer (\(helper) is missing)",
                                     hint: purpose == "-o yaml" ? "install both with scripts/install, or use -o json"
                                                                : "install both with scripts/install, or use json")
            }
            let child = try Subprocess.spawn([helper] + arguments, input: true, output: true, showingErrors: true)
            // A helper that dies early must fail this command, not kill it.
            signal(SIGPIPE, SIG_IGN)
            pid = child.pid
            input = FileDescriptorSink(fd: child.stdin, name: helperName)
            output = FileDescriptorSource(fd: child.stdout, name: helperName)
        }

        func closeInput() {
            guard inputOpen else { return }
            inputOpen = false
            close(input.fd)
        }

        /// Ends the helper at once (one that may be stuck, or no longer
        /// needed) and reaps it.
        func kill() {
            if exitStatus == nil { Glibc.kill(pid, SIGKILL) }
            _ = finish()
        }

        /// Closes both pipes and waits (once): the helper's exit status (-1 if a signal ended it).
        func finish() -> Int32 {
            if let exitStatus { return exitStatus }
            closeInput()
            close(output.fd)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
            return exitStatus!
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
