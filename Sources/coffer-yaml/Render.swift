#if canImport(Glibc)
import Glibc
#endif
import Yams

// `coffer render` of a YAML file (`coffer-yaml --render`). Only this
// program parses YAML; only coffer finds, reads and checks references. A
// conversation of frames (a 4-byte big-endian length, then that many
// bytes) over the two pipes:
//
//   coffer → helper   the template
//   helper → coffer   "ok N", then N pairs of frames: a path ($.db.hosts[0])
//                     and the text of a value scalar holding "coffer:"
//                     (or one frame "refused: REASON", or "documents LINE"
//                     for a stream of several, the second starting at LINE;
//                     then exit 2)
//   coffer → helper   N frames: each scalar's new text, in order
//                     (or nothing: coffer closes the pipe, the helper exits 0)
//   helper → coffer   "ok", then the document re-emitted by Yams
//
// Keys are never resolved. Comments are not kept (Yams drops them); styles,
// tags (Emit.swift) and key order are; a replaced scalar is written
// double-quoted with its tag, and one tagged as other than a string
// (`!!int`, `!!binary`) is refused. The new
// texts hold values: the helper keeps them as Swift strings (Yams needs
// them so) only until the document is written, and its errors never quote
// the document or a value.

func readExactly(_ count: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let n = bytes[filled...].withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return nil }
        filled += n
    }
    return bytes
}

/// The next frame on standard input; nil at its end.
func readFrame() -> [UInt8]? {
    guard let length = readExactly(4) else { return nil }
    let count = length.reduce(0) { $0 << 8 | Int($1) }
    guard count <= 64 << 20 else { fail("a frame of \(count) bytes is too large") }
    return readExactly(count)
}

func writeFrame(_ text: String) {
    let count = text.utf8.count
    guard count <= UInt32.max else { fail("a frame is too large") }
    let length = (0..<4).map { UInt8(truncatingIfNeeded: count >> (24 - 8 * $0)) }
    writeStandardOutput(length + Array(text.utf8))
}

func refuseFramed(_ reason: String) -> Never {
    writeFrame("refused: " + reason)
    exit(2)
}

/// `$.key` for a key of `[A-Za-z0-9_-]`, else `$["key"]`; `[i]` in a list (as CofferKit's `ConfigNode`).
func path(_ parent: String, key: Node) -> String {
    guard case .scalar(let scalar) = key else { return parent + "[?]" }
    let plain = !scalar.string.isEmpty && scalar.string.utf8.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x5F || $0 == 0x2D
    }
    return plain ? parent + "." + scalar.string : parent + "[" + json(scalar.string) + "]"
}

/// How far a document may grow once Yams has put each alias's node in its
/// place. A few hundred bytes of nested aliases ("billion laughs") expand to
/// 10^8 nodes, and every walk here, and the document written back, visits
/// each copy; these bounds keep that to seconds and megabytes, far above
/// any config file (docs/CLI.md, "Rendering config files", says them;
/// coffer checks the reference count again on its side).
enum Expansion {
    static let maxNodes = 100_000
    static let maxScalarBytes = 32 << 20
    static let maxReferences = 10_000
}

/// The value scalars holding "coffer:", in document order, with their
/// paths; refused (framed) past `Expansion`'s bounds.
struct Candidates {
    var found: [(path: String, text: String)] = []
    private var nodes = 0, scalarBytes = 0

    init(_ document: Node) { visit(document, at: "$") }

    /// Keys count toward the bounds but are never references.
    private mutating func visit(_ node: Node, at location: String, inKey: Bool = false) {
        nodes += 1
        guard nodes <= Expansion.maxNodes else {
            refuseFramed("the document has more than \(Expansion.maxNodes) nodes once its aliases are expanded")
        }
        switch node {
        case .scalar(let scalar):
            scalarBytes += scalar.string.utf8.count
            guard scalarBytes <= Expansion.maxScalarBytes else {
                refuseFramed("the document has more than \(Expansion.maxScalarBytes >> 20) MiB of text once its aliases are expanded")
            }
            guard !inKey, scalar.string.contains("coffer:") else { return }
            // A value in a number, a boolean, `!!binary`'s base64… would change
            // or lose its meaning; custom tags (`!Sub`) take strings and are kept.
            let tag = scalar.tag.rawValue
            if tag.hasPrefix("tag:yaml.org,2002:") && tag != "tag:yaml.org,2002:str" {
                refuseFramed("the string at \(location) holding coffer: is tagged !!\(tag.dropFirst("tag:yaml.org,2002:".count)); only a string (untagged, !!str or a custom tag such as !Sub) can take a value")
            }
            guard found.count < Expansion.maxReferences else {
                refuseFramed("the document has more than \(Expansion.maxReferences) strings holding coffer: once its aliases are expanded")
            }
            found.append((location, scalar.string))
        case .mapping(let mapping):
            for (key, value) in mapping {
                visit(key, at: location, inKey: true)
                visit(value, at: path(location, key: key), inKey: inKey)
            }
        case .sequence(let sequence): for (index, item) in sequence.enumerated() { visit(item, at: location + "[\(index)]", inKey: inKey) }
        case .alias: break
        }
    }
}

/// `node` with the candidate scalars' texts replaced, in the order `Candidates` found them.
func replaced(_ node: Node, _ texts: inout IndexingIterator<[String]>) -> Node {
    switch node {
    case .scalar(var scalar):
        guard scalar.string.contains("coffer:"), let text = texts.next() else { return node }
        if text != scalar.string {
            // Its tag stays (`!Sub "…"` is still a !Sub; Yams resets it with the
            // text); double quotes keep any value a string.
            let tag = scalar.tag
            scalar.string = text
            scalar.tag = tag
            scalar.style = .doubleQuoted
        }
        return .scalar(scalar)
    case .mapping(let mapping):
        let pairs = mapping.map { ($0.key, replaced($0.value, &texts)) }
        return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark, mapping.anchor))
    case .sequence(let sequence):
        let items = sequence.map { replaced($0, &texts) }
        return .sequence(Node.Sequence(items, sequence.tag, sequence.style, sequence.mark, sequence.anchor))
    case .alias:
        return node
    }
}

func render() -> Never {
    guard let template = readFrame() else { exit(0) }
    guard let text = String(validating: template, as: UTF8.self) else { refuseFramed("not UTF-8 text") }
    let document: Node
    do {
        guard let composed = try Yams.compose(yaml: text) else { refuseFramed("no YAML document") }
        document = composed
    } catch YamlError.composer(let context?, _, let mark, _) where context.text == "expected a single document in the stream" {
        // Yams's words for a stream of several documents; render takes one.
        writeFrame("documents \(mark.line)")
        exit(2)
    } catch let error as YamlError {
        refuseFramed(reason(error, in: text))
    } catch {
        refuseFramed("not valid YAML")
    }
    let found = Candidates(document).found
    writeFrame("ok \(found.count)")
    for (path, text) in found {
        writeFrame(path)
        writeFrame(text)
    }
    var texts: [String] = []
    for _ in found {
        // coffer closed the pipe: --check, or a reference it could not resolve.
        guard let frame = readFrame() else { exit(0) }
        texts.append(String(decoding: frame, as: UTF8.self))
    }
    var iterator = texts.makeIterator()
    let output: String
    do {
        output = try emitted(replaced(document, &iterator))
    } catch {
        // Yams's messages may quote the document, which now holds values.
        refuseFramed("the document could not be written as YAML")
    }
    writeFrame("ok")
    writeFrame(output)
    exit(0)
}
