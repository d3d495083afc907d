import Age
import CofferKit
import Posix
import TerminalUI

/// The screen: a title row, the tree (or a panel), the status line and the
/// keys that work here. Drawn whole after every key.
extension KeyManager {
    static let smallest = (columns: 30, rows: 8)

    func draw() {
        let size = terminal.size
        var frame = Frame(columns: size.columns, rows: size.rows)
        guard !tooSmall else {
            // Keys do nothing but q meanwhile (see `handle`).
            let message = "The terminal is too small for coffer ui (\(size.columns)×\(size.rows)): make it at least "
                + "\(KeyManager.smallest.columns)×\(KeyManager.smallest.rows), or press q."
            for (row, line) in KeyManager.wrap(message, width: size.columns).enumerated() { frame.set(row, [.text(line)]) }
            return show(frame)
        }
        let body = 1..<(size.rows - 2)
        frame.set(0, [.text(" coffer ui ", [.bold, .reverse]),
                      .text(" \(vault.root)  ·  \(Plural.secrets(tree.count)) in \(Plural.count(tree.groups.count, "scope"))", .dim)])
        switch behind {
        case .help: drawHelp(&frame, body)
        case .history(let panel): drawHistory(panel, &frame, body)
        case .readers(let panel): drawReaders(panel, &frame, body)
        case .notice(let title, let lines): drawLines([title] + lines.map { "  " + $0 }, &frame, body)
        default: drawTree(&frame, body)
        }
        frame.set(size.rows - 2, statusLine(width: size.columns))
        frame.set(size.rows - 1, [.text(keysLine, .dim)])
        show(frame)
    }

    private func show(_ frame: Frame) {
        let bytes = frame.render(colour: colour)
        bytes.withUnsafeBytes { terminal.write($0) }
    }

    private func statusLine(width: Int) -> [Span] {
        switch mode {
        case .input(let input, _): return input.spans(width: width)
        case .confirm(let question, _): return [.text(question, [.bold, .yellow])]
        case .search:
            return [.text("/", .bold), .text(search), .text("▏"), .text("  \(matchCount) found", .dim)]
                + (searchNote.map { [.text("  " + $0, [.bold, .red])] } ?? [])
        default:
            if let status { return [.text(status.text, status.error ? [.bold, .red] : .green)] }
            guard case .browse = mode, !search.isEmpty else { return [] }
            return [.text("search: \(search)  (\(matchCount) found; Esc clears)", .dim)]
        }
    }

    private var matchCount: Int { rows.reduce(0) { $0 + ($1.id == nil ? 0 : 1) } }

    private var keysLine: String {
        switch mode {
        case .input: return "Enter accept · Esc cancel · Ctrl-U clear"
        case .confirm: return "y yes · any other key no"
        case .search: return "type to narrow · ↑↓ move · Enter keep · Esc clear"
        case .help: return "↑↓ scroll · any other key: back"
        case .notice: return "any key: back"
        case .history: return "Esc back · ↑↓ version · v reveal · r roll back to it · ? help"
        case .readers: return "Esc back · ↑↓ reader · a add · d remove · ? help"
        case .browse:
            // Quit and help first: on a narrow terminal the rest is cut.
            return "q quit · ? help · / search · v reveal · a add · e edit · g generate · d delete · r rename · "
                + "Enter history · R readers · ←→ fold"
        }
    }

    /// Keeps `selected` in the rows shown, scrolling as little as possible.
    private func scroll(_ selected: Int, top: inout Int, height: Int) {
        if selected < top { top = selected }
        if selected >= top + height { top = selected - height + 1 }
        top = max(top, 0)
    }

    private func drawTree(_ frame: inout Frame, _ body: Range<Int>) {
        guard !rows.isEmpty else {
            frame.set(body.lowerBound, [.text(search.isEmpty ? "  This vault has no secrets yet: press a to add one." : "  Nothing matches “\(search)”.", .dim)])
            return
        }
        scroll(selected, top: &top, height: body.count)
        for (line, index) in zip(body, top..<min(top + body.count, rows.count)) {
            let style: Style = index == selected ? .reverse : []
            let gutter = index == selected ? "› " : "  "
            switch rows[index] {
            case .scope(let g, let shown):
                let group = tree.groups[g]
                let marker = !search.isEmpty || !collapsed.contains(group.scope) ? "▾ " : "▸ "
                var spans: [Span] = [.text(gutter, style), .text(marker + group.scope.description, style.union([.bold, .cyan]))]
                if let readers = group.readers {
                    spans.append(.text("  readers: " + (readers.isEmpty ? "none" : readers.joined(separator: ", ")), style))
                } else {
                    spans.append(.text("  " + (group.problem ?? "readers unknown"), style.union(.red)))
                }
                let count = search.isEmpty ? "\(group.ids.count)" : "\(shown) of \(group.ids.count)"
                spans.append(.text("  (\(count))", style.union(.dim)))
                frame.set(line, spans, fill: style)
            case .secret(let id, let g):
                let scope = tree.groups[g].scope
                let shown = scope.isRoot ? id.value : String(id.value.dropFirst(scope.directory.count + 1))
                var spans: [Span] = [.text(gutter + "  " + shown, style)]
                if let revealed, revealed.version == nil, revealed.id == id {
                    spans.append(.text("  = ", style))
                    spans.append(.secret(revealed.value, style.union([.bold, .yellow])))
                }
                frame.set(line, spans, fill: style)
            }
        }
    }

    private func drawHistory(_ panel: HistoryPanel, _ frame: inout Frame, _ body: Range<Int>) {
        frame.set(body.lowerBound, [.text("History of \(panel.id)", .bold), .text("  (newest first)", .dim)])
        // A revealed version's value takes the row below it, at full width.
        let shown = revealed.flatMap { r in r.id == panel.id ? r.version : nil }
        let list = (body.lowerBound + 1)..<(body.upperBound - (shown == nil ? 0 : 1))
        scroll(panel.selected, top: &panel.top, height: list.count)
        var line = list.lowerBound
        for index in panel.top..<panel.items.count where line < list.upperBound {
            let v = panel.items[index]
            let style: Style = index == panel.selected ? .reverse : []
            let gutter = index == panel.selected ? "› " : "  "
            // Most telling first: a narrow terminal cuts the end.
            let iso = UTCTime.iso8601(Int(v.time))
            let date = iso.prefix(10) + " " + iso.dropFirst(11).prefix(5)
            frame.set(line, [.text(gutter + "v\(v.number)  \(date)  \(v.action)  \(v.change.rawValue)"
                                   + (v.id != panel.id ? "  as \(v.id)" : "")
                                   + "  \(v.origin.signature.summary)  \(v.author)  \(v.commit.prefix(8))", style)], fill: style)
            line += 1
            if let revealed, shown == v.number {
                frame.set(line, [.text("    = "), .secret(revealed.value, [.bold, .yellow])])
                line += 1
            }
        }
    }

    private func drawReaders(_ panel: ReadersPanel, _ frame: inout Frame, _ body: Range<Int>) {
        frame.set(body.lowerBound, [.text("Readers of \(panel.scope)", .bold),
                                    .text("  (each can read every secret of this scope)", .dim)])
        let list = (body.lowerBound + 1)..<body.upperBound
        scroll(panel.selected, top: &panel.top, height: list.count)
        for (line, index) in zip(list, panel.top..<panel.items.count) {
            let reader = panel.items[index]
            let style: Style = index == panel.selected ? .reverse : []
            frame.set(line, [.text(index == panel.selected ? "› " : "  ", style), .text(reader.shownName, style.union(.bold)),
                             .text("  \(reader.fingerprint)  \(reader.recipient.encoded)", style)], fill: style)
        }
    }

    private func drawHelp(_ frame: inout Frame, _ body: Range<Int>) {
        let lines = KeyManager.helpLines.flatMap { KeyManager.wrap($0, width: frame.columns) }
        helpTop = min(helpTop, max(lines.count - body.count, 0))
        drawLines(Array(lines.dropFirst(helpTop)), &frame, body)
    }

    /// Each fits in 60 columns.
    static let helpLines = [
        "coffer ui keys",
        "  ↑↓ jk        move (PgUp PgDn Home End jump)",
        "  ←→ hl        fold, unfold a scope",
        "  /            search ids as you type (Esc clears)",
        "  v            show the selected value until the next key",
        "  a            add a secret (the value asked twice)",
        "  e            a new value for the selected secret",
        "  g            generate a random value (190 bits)",
        "  d            delete the selected secret",
        "  r            rename the selected secret",
        "  Enter        history: v reveal, r roll back to it",
        "  R            the scope's readers: a add, d remove",
        "  Ctrl-L       read the vault again",
        "  q  Ctrl-C    quit (the screen is cleared)",
        "Each change is the commit the coffer command makes.",
    ]

    /// Lines of text, each wrapped at spaces to the width.
    /// Lines that do not fit end with a count of the rest.
    private func drawLines(_ lines: [String], _ frame: inout Frame, _ body: Range<Int>) {
        var wrapped = lines.flatMap { KeyManager.wrap($0, width: frame.columns) }
        if wrapped.count > body.count {
            let rest = wrapped.count - body.count + 1
            wrapped = wrapped.prefix(body.count - 1) + ["… and \(rest) more line\(rest == 1 ? "" : "s")"]
        }
        for (line, text) in zip(body, wrapped) { frame.set(line, [.text(text)]) }
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        guard text.count > width else { return [text] }
        let indent = String(text.prefix { $0 == " " })
        var lines: [String] = [], line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        lines.append(line)
        return lines
    }
}
