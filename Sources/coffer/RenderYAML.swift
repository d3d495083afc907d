#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Posix

/// `coffer render` of a YAML template: `coffer-yaml --render` parses and
/// re-emits the document (Yams needs Foundation, which coffer leaves out),
/// coffer finds the references in the strings the helper hands over, reads
/// them and hands back each string's new text. The frames are described in
/// Sources/coffer-yaml/Render.swift.
final class YAMLRenderSession: RenderTemplate {
    /// The helper's limit on strings holding `coffer:` (Expansion in
    /// Sources/coffer-yaml/Render.swift), checked again here.
    static let maxReferences = 10_000
    /// The helper's limit on the text of a document once its aliases are
    /// expanded: with the values put in, it bounds the document it sends back.
    static let maxExpandedBytes = 32 << 20
    /// How long coffer waits for each of the helper's frames before killing
    /// it: parsing and re-emitting a config file takes milliseconds.
    static var timeout: Double {
        #if DEBUG
        if let value = getenv("COFFER_TEST_HELPER_TIMEOUT"), let seconds = Double(String(cString: value)) { return seconds }
        #endif
        return 30
    }

    private let helper: YAMLWriter.Helper
    /// No path or string the helper finds is longer than this: one of the
    /// template's own strings, or its keys with `$`, `[i]` and escapes.
    private let maxFrame: Int
    /// Each value scalar holding `coffer:`, by its path, as a template.
    private var strings: [(path: String, template: Template)] = []

    init(template: [UInt8]) throws {
        helper = try YAMLWriter.Helper(["--render"], for: "render of YAML")
        maxFrame = 8 * template.count + 4096
        do {
            try template.withUnsafeBytes { try send($0) }
            let count = try expectOK()
            guard count <= YAMLRenderSession.maxReferences else { throw failed }
            for _ in 0..<count {
                let path = try receive(limit: maxFrame).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                let text = try receive(limit: maxFrame).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                strings.append((path, try Template(value: text, at: path)))
            }
        } catch {
            helper.kill()
            throw error
        }
    }

    deinit { helper.kill() }

    func references() throws -> [ConfigReference] {
        strings.flatMap { string in string.template.ids.map { ConfigReference(id: $0, location: string.path) } }
    }

    func rendered(with values: ResolvedValues) throws -> SecureBytes {
        var sent = 0
        for string in strings {
            try string.template.rendered(with: values).withUnsafeBytes {
                sent += $0.count
                try send($0)
            }
        }
        helper.closeInput()
        _ = try expectOK()
        // The expanded text and the values, each byte escaped at most tenfold,
        // with room for indentation and punctuation in proportion to the template.
        let document = try receive(limit: 10 * (YAMLRenderSession.maxExpandedBytes + sent) + 64 * maxFrame)
        guard helper.finish() == 0 else { throw failed }
        return document
    }

    private var failed: CommandFailure { CommandFailure("\(YAMLWriter.helperName) could not render the document") }

    /// The helper's status frame: `ok [N]` (N, or 0), or its refusal.
    private func expectOK() throws -> Int {
        let status = try receive(limit: 4096).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        if status.hasPrefix("refused: ") {
            throw ReferenceError.notADocument(format: "YAML", reason: String(status.dropFirst("refused: ".count)))
        }
        if status.hasPrefix("documents "), let line = Int(status.dropFirst("documents ".count)) {
            throw ReferenceError.severalDocuments(line: line)
        }
        guard let count = status == "ok" ? 0 : status.hasPrefix("ok ") ? Int(status.dropFirst(3)) : nil else { throw failed }
        return count
    }

    private func send(_ bytes: UnsafeRawBufferPointer) throws {
        let length = (0..<4).map { UInt8(truncatingIfNeeded: bytes.count >> (24 - 8 * $0)) }
        do {
            try length.withUnsafeBytes { try helper.input.write($0) }
            try helper.input.write(bytes)
        } catch {
            throw failed
        }
    }

    /// One frame of at most `limit` bytes, into a wiped buffer (the rendered
    /// document holds values); a longer one is refused before it is read.
    private func receive(limit: Int) throws -> SecureBytes {
        let deadline = Monotonic.seconds() + YAMLRenderSession.timeout
        let length = try read(4, by: deadline).withUnsafeBytes { $0.reduce(0) { $0 << 8 | Int($1) } }
        guard length <= limit else { throw failed }
        return try read(length, by: deadline)
    }

    private func read(_ count: Int, by deadline: Double) throws -> SecureBytes {
        let bytes = SecureBytes(count: count)
        var filled = 0
        while filled < count {
            try waitForOutput(until: deadline)
            let n = try bytes.withUnsafeMutableBytes { try helper.output.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard n > 0 else { throw failed }
            filled += n
        }
        return bytes
    }

    /// Returns once the helper has written something (or closed its end); a
    /// helper whose frame is not whole by `deadline` is killed and the render fails.
    private func waitForOutput(until deadline: Double) throws {
        while true {
            var ready = pollfd(fd: helper.output.fd, events: Int16(POLLIN), revents: 0)
            let left = deadline - Monotonic.seconds()
            if left > 0 {
                let n = poll(&ready, 1, Int32(left * 1000) + 1)
                if n > 0 { return }
                if n < 0 && errno != EINTR { throw failed }
                continue
            }
            helper.kill()
            throw CommandFailure("\(YAMLWriter.helperName) gave no answer in \(Int(YAMLRenderSession.timeout.rounded(.up))) s; it was stopped and nothing was written")
        }
    }
}
