#if canImport(Glibc)
import Glibc
#endif
import Posix

/// The `.gitattributes` lines that keep git from changing sealed files'
/// bytes: `-text` (no end-of-line conversion, whatever `eol` or
/// `core.autocrlf` a pushed change sets) and `merge=binary` (a conflict keeps
/// one side whole instead of writing conflict markers into a sealed file),
/// beside `diff=coffer`, which shows them readably.
enum Attributes {
    static let fileName = ".gitattributes"
    static let sealedLine = "*.age diff=coffer -text merge=binary"
    static let text = "# coffer: sealed files are shown by coffer's diff driver and never converted or merged by git\n"
        + sealedLine + "\n"

    /// Attributes that would let git rewrite a sealed file's bytes.
    private static let hazards = ["text", "eol", "crlf", "merge", "filter", "working-tree-encoding", "ident"]

    /// True when the root file ends with coffer's line in force for `*.age`:
    /// no later line of any pattern sets an attribute that could rewrite them
    /// (later lines win in git, and a pattern like `*` matches sealed files too).
    static func protects(_ text: String) -> Bool {
        let lines = text.split(separator: "\n").map(fields)
        guard let last = lines.lastIndex(where: { $0.first == "*.age" }) else { return false }
        let ours = Set(lines[last].dropFirst())
        guard ours.isSuperset(of: ["diff=coffer", "-text", "merge=binary"]) else { return false }
        return !lines[(last + 1)...].contains(where: setsHazard)
    }

    /// True when a `.gitattributes` below the root sets an attribute that
    /// could rewrite sealed files there.
    static func endangers(_ text: String) -> Bool {
        text.split(separator: "\n").map(fields).contains(where: setsHazard)
    }

    /// A line's pattern and attributes, as git splits them (on blanks).
    private static func fields(_ line: Substring) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    private static func setsHazard(_ fields: [String]) -> Bool {
        guard let pattern = fields.first, !pattern.hasPrefix("#") else { return false }
        return fields.dropFirst().contains { attribute in
            let name = attribute.drop { $0 == "-" || $0 == "!" }.split(separator: "=").first.map(String.init) ?? ""
            return hazards.contains(name)
        }
    }

    /// The root file repaired: the user's other lines kept, lines that set a
    /// hazard or name `*.age` dropped, coffer's lines at the end.
    static func repaired(_ text: String) -> String {
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let parts = fields(line)
            return parts.first != "*.age" && !setsHazard(parts) && !line.hasPrefix("# coffer:")
        }
        let head = kept.joined(separator: "\n").trimmingTrailingNewlines()
        return (head.isEmpty ? "" : head + "\n") + Attributes.text
    }
}

private extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self[...]
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}

extension Vault {
    /// `.gitattributes` files that leave sealed files open to git's
    /// conversions: the root one if it does not protect them (or is gone),
    /// and any below it that sets a conversion (paths relative to the root).
    func unprotectingAttributes() -> [String] {
        var found: [String] = []
        func text(_ relative: String) -> String? {
            (try? Files.readRegularFile(path: path(relative), limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) }
        }
        if !Attributes.protects(text(Attributes.fileName) ?? "") { found.append(Attributes.fileName) }
        Paths.directories(below: root) { relative in
            guard !relative.isEmpty else { return }
            let file = relative + "/" + Attributes.fileName
            if let nested = text(file), Attributes.endangers(nested) { found.append(file) }
        }
        return found
    }
}
