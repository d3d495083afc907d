#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import Posix

/// The one renderer of `-o table|json|yaml` (docs/CLI.md, "Output formats"):
///
/// - `json`: the document on one line (jq-friendly, one document per line),
///   keys in the order the command wrote them; hand-rendered, so the order
///   and the bytes are stable.
/// - `yaml`: the same document through Yams, in `coffer-yaml` (`YAMLWriter`):
///   block style, key order kept, strings double-quoted so none reads back
///   as a number, a boolean or null.
/// - `table`: the command's table: a header row, then one line per row; each
///   column as wide as its longest cell, two spaces between columns, the last
///   column not padded; text escaped for the terminal (`TerminalText`); no
///   rows, no output at all.
enum Renderer {
    static func render(_ output: Output, as format: OutputFormat, command: String) throws -> String {
        switch format {
        case .json: return json(.record(output.document)) + "\n"
        case .yaml: return try yaml(output.document)
        case .table:
            guard let table = output.table else { throw FormatRefused(format: format, command: command) }
            return self.table(table)
        }
    }

    /// Renders and writes to standard output.
    static func print(_ output: Output, as format: OutputFormat, command: String) throws {
        try FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output").write(render(output, as: format, command: command))
    }

    // MARK: JSON

    static func json(_ value: Value) -> String {
        switch value {
        case .string(let s): return jsonString(s)
        case .int(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .list(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .record(let record):
            return "{" + record.fields.map { jsonString($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        case .secret(let bytes): return json(plain(secret: bytes))
        }
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A secret as data: its text if it is UTF-8, else `{"base64": …}`.
    private static func plain(secret: SecureBytes) -> Value {
        secret.withUnsafeBytes { bytes in
            if let text = String(validating: bytes, as: UTF8.self) { return .string(text) }
            return .record(["base64": .string(Base64.encode(bytes, padded: true))])
        }
    }

    // MARK: YAML

    static func yaml(_ document: Record) throws -> String {
        try YAMLWriter.yaml(fromJSON: json(.record(document)) + "\n")
    }

    // MARK: table

    static func table(_ table: Table) -> String {
        guard !table.rows.isEmpty else { return "" }
        // Flat arrays, each cell's width counted once (bytes for ASCII):
        // `list` puts ten thousand ids in one table, and an array per row
        // cost more than the ids themselves.
        var cells: [String] = [], cellWidths: [Int] = [], lineStarts: [Int] = []
        func add(_ text: String) {
            cells.append(text)
            cellWidths.append(text.utf8.allSatisfy { $0 < 0x80 } ? text.utf8.count : text.count)
        }
        lineStarts.append(0)
        table.columns.forEach(add)
        for row in table.rows {
            lineStarts.append(cells.count)
            for value in row { add(cell(value)) }
        }
        lineStarts.append(cells.count)
        var widths = [Int](repeating: 0, count: table.columns.count)
        for line in 0..<lineStarts.count - 1 {
            for i in lineStarts[line]..<lineStarts[line + 1] where i - lineStarts[line] < widths.count {
                widths[i - lineStarts[line]] = max(widths[i - lineStarts[line]], cellWidths[i])
            }
        }
        var out = ""
        for line in 0..<lineStarts.count - 1 {
            let start = lineStarts[line], end = lineStarts[line + 1]
            var text = ""
            for i in start..<end {
                if i > start { text += "  " }
                text += cells[i]
                if i < end - 1 { text += String(repeating: " ", count: widths[i - start] - cellWidths[i]) }
            }
            while text.last == " " { text.removeLast() }
            out += text + "\n"
        }
        return out
    }

    /// One cell: text escaped for the terminal; null as `-`; a list's items
    /// separated by spaces; a secret in double quotes (or `base64:…`), so
    /// an empty value or one with spaces stays visible.
    static func cell(_ value: Value) -> String {
        switch value {
        case .string(let s): return TerminalText.escape(s)
        case .int(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "-"
        case .list(let items): return items.map(cell).joined(separator: " ")
        case .record(let record): return record.fields.map { TerminalText.escape($0.key) + "=" + cell($0.value) }.joined(separator: " ")
        case .secret(let bytes):
            switch plain(secret: bytes) {
            case .string(let text): return "\"" + TerminalText.escape(text).split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\\"") + "\""
            case let other: return "base64:" + (other.base64 ?? "")
            }
        }
    }
}

private extension Value {
    var base64: String? {
        guard case .record(let record) = self, case .string(let text)? = record["base64"] else { return nil }
        return text
    }
}
