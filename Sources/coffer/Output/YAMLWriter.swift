#if canImport(Glibc)
import Glibc
#endif
import Posix

/// `-o yaml`: the JSON document handed to `coffer-yaml`, installed beside
/// coffer, which writes it through Yams. Yams brings all of Foundation and
/// ICU; in a program of its own, only `-o yaml` pays their start-up cost.
/// The document travels through a pipe, never a file.
enum YAMLWriter {
    static let helperName = "coffer-yaml"

    static func yaml(fromJSON json: String) throws -> String {
        let helper = directory(of: Executable.path) + "/" + helperName
        guard access(helper, X_OK) == 0 else {
            throw CommandFailure("-o yaml needs \(helperName) beside coffer (\(helper) is missing)",
                                 hint: "install both with scripts/install, or use -o json")
        }
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { throw CommandFailure("cannot run \(helperName): no pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO)
        for fd in input + output { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(helper), nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, helper, &actions, nil, argv, environ)
        close(input[0])
        close(output[1])
        guard rc == 0 else {
            close(input[1]); close(output[0])
            throw CommandFailure("cannot run \(helper): \(String(cString: strerror(rc)))")
        }
        // The helper reads the whole document before it writes: no deadlock.
        // A helper that dies early must fail this command, not kill it.
        signal(SIGPIPE, SIG_IGN)
        let written = Result { try FileDescriptorSink(fd: input[1], name: helperName).write(json) }
        close(input[1])
        var text = try readAll(output[0])
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard (try? written.get()) != nil, status == 0 else {
            text = ""
            throw CommandFailure("\(helperName) could not write the document as YAML")
        }
        return text
    }

    private static func readAll(_ fd: Int32) throws -> String {
        let source = FileDescriptorSource(fd: fd, name: helperName)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += buffer[0..<n]
        }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
