#if canImport(Glibc)
import Glibc
#endif
import CrashPosture
import Yams

// It holds revealed values (`get --reveal -o yaml`) as long as coffer does.
CrashPosture.harden()

// coffer's YAML writer: reads one JSON document (as `coffer … -o json`
// prints it) on standard input and writes it as YAML on standard output,
// through Yams, keeping the key order. With `--flat-json` (`coffer import
// --from yaml`), the other way for one flat mapping of strings: reads the
// YAML, writes a JSON object (FlatJSON.swift reads it); anything else is
// refused with exit status 2 and the reason on standard output. With
// `--render`, `coffer render` of a YAML file (Render.swift).
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

func readStandardInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = read(STDIN_FILENO, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return bytes
}

func fail(_ message: String) -> Never {
    let line = "coffer-yaml: error: \(message)\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(1)
}

/// A JSON string: `"`, `\\` and control characters escaped, the rest as it is.
func json(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Refused input: the reason (coffer's words and keys, never a value) for coffer to show.
func refuse(_ reason: String) -> Never {
    writeStandardOutput(reason)
    exit(2)
}

/// What was wrong with a YAML document: Yams's messages quote the input,
/// which holds values, so a line number only.
func reason(_ error: YamlError, in yaml: String) -> String {
    switch error {
    case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
        return "not valid YAML (line \(line(mark, in: yaml)))"
    case .duplicatedKeysInMapping(_, let context):
        return "a key appears twice (line \(line(context.mark, in: yaml)))"
    default:
        return "not valid YAML"
    }
}

/// `mark`'s line, but the last line of `yaml` for its end: libyaml places
/// the end of a file ending in a line break on the line after it, so
/// `a: [x` alone was "line 2".
func line(_ mark: Mark, in yaml: String) -> Int {
    let lines = yaml.utf8.count(where: { $0 == 0x0A }) + (yaml.utf8.last == 0x0A ? 0 : 1)
    return max(1, min(mark.line, lines))
}

/// The JSON object of a flat YAML mapping of strings. Scalars are taken as
/// written (`port: 5432` is "5432"); a null, a list, a mapping or a key twice
/// is refused, naming the key.
func flatJSON(_ yaml: String) -> String {
    let document: Node?
    do {
        document = try Yams.compose(yaml: yaml)
    } catch let error as YamlError {
        refuse(reason(error, in: yaml))
    } catch {
        refuse("not valid YAML")
    }
    guard let document else { refuse("no YAML document") }
    guard case .mapping(let mapping) = document else { refuse("the document is not a mapping") }
    var seen = Set<String>()
    var out = "{"
    var separator = ""
    for (key, value) in mapping {
        guard case .scalar(let name) = key else { refuse("a key is not a string (line \(key.mark?.line ?? 0))") }
        guard seen.insert(name.string).inserted else { refuse("\(json(name.string)) appears twice") }
        guard case .scalar(let scalar) = value else { refuse("the value of \(json(name.string)) is not a string") }
        if scalar.style == .plain && value.null != nil {
            refuse("the value of \(json(name.string)) is null (write \"\" for an empty value)")
        }
        out += separator + json(name.string) + ":" + json(scalar.string)
        separator = ","
    }
    return out + "}\n"
}

func writeStandardOutput(_ text: String) { writeStandardOutput(Array(text.utf8)) }

func writeStandardOutput(_ bytes: [UInt8]) {
    var at = 0
    while at < bytes.count {
        let n = bytes[at...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { fail("cannot write standard output") }
        at += n
    }
}

if CommandLine.arguments.dropFirst().first == "--render" { render() }

if CommandLine.arguments.dropFirst().first == "--flat-json" {
    guard let yaml = String(validating: readStandardInput(), as: UTF8.self) else { refuse("not UTF-8 text") }
    writeStandardOutput(flatJSON(yaml))
    exit(0)
}

do {
    guard let document = try Yams.compose(yaml: String(decoding: readStandardInput(), as: UTF8.self)) else { fail("no document on standard input") }
    writeStandardOutput(try Yams.serialize(node: restyled(document), width: -1, allowUnicode: true))
} catch {
    // Yams's messages quote the input, which may hold revealed values.
    fail("the document could not be written as YAML")
}
