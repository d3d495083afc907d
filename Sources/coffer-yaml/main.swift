#if canImport(Glibc)
import Glibc
#endif
import CrashPosture
import Yams

// It holds revealed values (`get --reveal -o yaml`) as long as coffer does.
CrashPosture.harden()

// coffer's YAML writer: reads one JSON document (as `coffer … -o json`
// prints it) on standard input and writes it as YAML on standard output,
// through Yams, keeping the key order.
//
// Why a program of its own: Yams needs all of Foundation and ICU, which
// would add about 1.3 ms to the start of every coffer process (`get`
// included). coffer runs this only for `-o yaml`, as it loads libgit2 only
// for commands that touch history.

/// Block style throughout; strings double-quoted, so none reads back as a
/// number, boolean or null; numbers, booleans and null plain; keys (coffer's
/// own field names) plain.
func restyled(_ node: Node, isKey: Bool = false) -> Node {
    switch node {
    case .scalar(var scalar):
        let plainKey = isKey && scalar.string.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
        // A JSON string arrives double-quoted; numbers, booleans and null plain.
        scalar.style = scalar.style == .doubleQuoted && !plainKey ? .doubleQuoted : .plain
        return .scalar(scalar)
    case .mapping(var mapping):
        mapping = Node.Mapping(mapping.map { (restyled($0.key, isKey: true), restyled($0.value)) }, mapping.tag, .block)
        return .mapping(mapping)
    case .sequence(let sequence):
        return .sequence(Node.Sequence(sequence.map { restyled($0) }, sequence.tag, .block))
    case .alias:
        return node
    }
}

func readStandardInput() -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = read(STDIN_FILENO, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func fail(_ message: String) -> Never {
    let line = "coffer-yaml: error: \(message)\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(1)
}

do {
    guard let document = try Yams.compose(yaml: readStandardInput()) else { fail("no document on standard input") }
    let text = try Yams.serialize(node: restyled(document), width: -1, allowUnicode: true)
    let bytes = Array(text.utf8)
    var at = 0
    while at < bytes.count {
        let n = bytes[at...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { fail("cannot write standard output") }
        at += n
    }
} catch {
    // Yams's messages quote the input, which may hold revealed values.
    fail("the document could not be written as YAML")
}
