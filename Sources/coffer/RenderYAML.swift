import Age
import CofferKit
import Posix

/// `coffer render` of a YAML template: `coffer-yaml --render` parses and
/// re-emits the document (Yams needs Foundation, which coffer leaves out),
/// coffer finds the references in the strings the helper hands over, reads
/// them and hands back each string's new text. The frames are described in
/// Sources/coffer-yaml/Render.swift.
final class YAMLRenderSession: RenderTemplate {
    private let helper: YAMLWriter.Helper
    /// Each value scalar holding `coffer:`, by its path, as a template.
    private var strings: [(path: String, template: Template)] = []

    init(template: [UInt8]) throws {
        helper = try YAMLWriter.Helper(["--render"], for: "render of YAML")
        do {
            try template.withUnsafeBytes { try send($0) }
            let count = try expectOK()
            for _ in 0..<count {
                let path = try receive().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                let text = try receive().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                strings.append((path, try Template(value: text, at: path)))
            }
        } catch {
            _ = helper.finish()
            throw error
        }
    }

    deinit { _ = helper.finish() }

    func references() throws -> [ConfigReference] {
        strings.flatMap { string in string.template.ids.map { ConfigReference(id: $0, location: string.path) } }
    }

    func rendered(with values: ResolvedValues) throws -> SecureBytes {
        for string in strings {
            try string.template.rendered(with: values).withUnsafeBytes { try send($0) }
        }
        helper.closeInput()
        _ = try expectOK()
        let document = try receive()
        guard helper.finish() == 0 else { throw failed }
        return document
    }

    private var failed: CommandFailure { CommandFailure("\(YAMLWriter.helperName) could not render the document") }

    /// The helper's status frame: `ok [N]` (N, or 0), or its refusal.
    private func expectOK() throws -> Int {
        let status = try receive().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        if status.hasPrefix("refused: ") {
            throw ReferenceError.notADocument(format: "YAML", reason: String(status.dropFirst("refused: ".count)))
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

    /// One frame, into a wiped buffer (the rendered document holds values).
    private func receive() throws -> SecureBytes {
        let length = try read(4).withUnsafeBytes { $0.reduce(0) { $0 << 8 | Int($1) } }
        // Nothing the helper sends is larger than the 16 MiB template re-emitted with 16 MiB values.
        guard length <= 1 << 30 else { throw failed }
        return try read(length)
    }

    private func read(_ count: Int) throws -> SecureBytes {
        let bytes = SecureBytes(count: count)
        var filled = 0
        while filled < count {
            let n = try bytes.withUnsafeMutableBytes { try helper.output.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard n > 0 else { throw failed }
            filled += n
        }
        return bytes
    }
}
