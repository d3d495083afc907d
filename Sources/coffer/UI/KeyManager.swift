#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferKit
import CrashPosture
import Posix
import TerminalUI

/// `coffer ui`: the vault as a tree of scopes and ids, browsed and changed
/// with keys. Every change goes through the same CofferKit operations (and
/// makes the same commits) as the commands of the CLI; a value appears only
/// when the user reveals it, and goes at the next key or after a few seconds.
final class KeyManager {
    enum Mode {
        case browse
        case search
        case help
        case input(LineInput, then: (LineInput) -> Void)
        case confirm(String, then: () -> Void)
        case history(HistoryPanel)
        case readers(ReadersPanel)
        /// Lines to read (ids a removed reader could read), closed by any key.
        case notice(String, [String])
    }

    struct Revealed {
        let value: SecureBytes
        /// Where it shows: an id in the tree, or a version in the history panel.
        let id: SecretID
        let version: Int?
        let until: Double
    }

    let terminal: Terminal
    let settings: VaultSettings
    let identities: [Identity]
    /// Whether an operation may need the terminal itself (a plugin asking for a PIN).
    let promptsOnTerminal: Bool
    var vault: Vault
    var tree: SecretTree
    var rows: [SecretTree.Row] = []
    var selected = 0
    var top = 0
    var collapsed: Set<Scope> = []
    var search = ""
    /// Said beside the search until the next key (a paste left out).
    var searchNote: String?
    var mode = Mode.browse {
        didSet {
            switch mode {
            case .input, .confirm: break
            default: behind = mode
            }
        }
    }
    /// The view under a question (the tree, or a panel), drawn while it is
    /// asked and returned to after it.
    private(set) var behind = Mode.browse
    /// Where the help overlay or a notice returns to.
    var returnTo = Mode.browse
    var helpTop = 0
    var status: (text: String, error: Bool)?
    var revealed: Revealed?
    var quitting = false
    /// Set when a key answered a question: the rest of that read is dropped.
    var discardTypeAhead = false
    /// While an operation runs, the lines coffer would have printed.
    var captured: [String]?
    private var decoder = KeyDecoder()
    let colour = Frame.colourWanted

    static var revealSeconds: Double {
        guard let text = getenv("COFFER_UI_REVEAL_SECONDS").map({ String(cString: $0) }), let seconds = Double(text),
              seconds.isFinite else { return 10 }
        return min(max(seconds, 1), 60).rounded()
    }

    init(terminal: Terminal, settings: VaultSettings, vault: Vault, identities: [Identity]) {
        self.terminal = terminal
        self.settings = settings
        self.vault = vault
        self.identities = identities
        promptsOnTerminal = identities.contains { ReaderKey.of($0) == nil }
        tree = KeyManager.load(vault)
        rows = tree.rows(matching: "", collapsed: [])
        selected = rows.firstIndex { $0.id != nil } ?? 0
    }

    static func load(_ vault: Vault) -> SecretTree {
        SecretTree(ids: vault.list(), scopes: vault.scopes()) { try vault.readers(in: $0).readers }
    }

    // MARK: the loop

    func run() throws {
        try terminal.enter()
        CrashPosture.beforeExit = Terminal.restoreAfterCrash
        defer {
            CrashPosture.beforeExit = nil
            hide()
            terminal.leave()
        }
        // Lines coffer would print (a notice, a warning) go to the status line
        // meanwhile, after what the operation that caused them says.
        Console.capture = { [weak self] text in
            guard let self, let line = text.split(separator: "\n").last.map(String.init), !line.isEmpty else { return }
            if captured != nil { captured?.append(line) } else { status = (line, line.hasPrefix("coffer: error") || line.hasPrefix("coffer: warning")) }
        }
        defer { Console.capture = nil }
        draw()
        PhaseTimings.mark("first-screen")
        var resumptions = terminal.resumptions
        while !quitting {
            if terminal.resumptions != resumptions {
                // Stopped and continued (even outside the wait for input): the
                // screen was cleared meanwhile; nothing stays revealed.
                resumptions = terminal.resumptions
                hide()
                draw()
            }
            var timeout: Int32 = -1
            if let revealed { timeout = Int32(max(0, (revealed.until - Monotonic.seconds()) * 1000).rounded(.up)) }
            // While the rest of a cut paste is skipped, half a second of quiet ends it.
            if decoder.isSkipping { timeout = timeout < 0 ? 500 : min(timeout, 500) }
            let keys = try readKeys(timeout: timeout)
            if let revealed, keys.isEmpty, Monotonic.seconds() >= revealed.until { hide() }
            for key in keys where !quitting {
                // Any key hides a revealed value, and does nothing else.
                if revealed != nil {
                    hide()
                    continue
                }
                let asking = isAsking
                handle(key)
                // What came in the same burst as a question being asked or
                // answered, or after a paste, is not taken as keys: a question
                // is answered only by a key pressed after it shows, and a
                // paste (bracketed or not) never presses any.
                if isAsking != asking { discardTypeAhead = true }
                if case .paste = key { discardTypeAhead = true }
                if discardTypeAhead {
                    discardTypeAhead = false
                    tcflush(terminal.input, TCIFLUSH)
                    decoder.discardPending()
                    break
                }
            }
            draw()
            if case .search = mode { PhaseTimings.mark("search-key") }
        }
    }

    /// True while a question is on the status line (an answer or a [y/N]).
    var isAsking: Bool {
        switch mode {
        case .input, .confirm: return true
        default: return false
        }
    }

    /// The keys of one read (none when the time ran out or a signal came),
    /// waiting a little for the rest of an escape sequence (30 ms) or paste
    /// (500 ms between its bytes, 5 s in all). A signal meanwhile (a resize) does not end the
    /// wait; an unfinished paste is dropped whole, its rest too when it comes.
    private func readKeys(timeout: Int32) throws -> [Key] {
        guard var bytes = try terminal.read(timeout: timeout) else {
            decoder.quiet()
            return []
        }
        var keys = decoder.keys(from: bytes)
        KeyDecoder.wipe(&bytes)
        let started = Monotonic.seconds()
        // The wait is from the last bytes that came: 30 ms for the rest of an
        // escape sequence, 500 ms within a paste; a paste gets 5 s in all.
        var deadline = started + (decoder.isInPaste ? 0.5 : 0.03)
        while decoder.isWaiting {
            // Nothing revealed stays up while a paste streams in.
            if decoder.isInPaste { hide() }
            let left = min(deadline, started + 5) - Monotonic.seconds()
            guard left > 0 else {
                keys += decoder.flush()
                break
            }
            guard var more = try terminal.read(timeout: Int32((left * 1000).rounded(.up))) else { continue }
            keys += decoder.keys(from: more)
            KeyDecoder.wipe(&more)
            deadline = Monotonic.seconds() + (decoder.isInPaste ? 0.5 : 0.03)
        }
        return keys
    }

    func hide() {
        guard revealed != nil else { return }
        revealed = nil
        status = ("hidden again", false)
    }

    func handle(_ key: Key) {
        if key == .control("c") {
            quitting = true
            return
        }
        if key == .control("l") {
            // Read the vault again (a change made elsewhere), and redraw.
            return reload(selecting: selectedID)
        }
        // Nothing is done that the screen cannot show.
        guard !tooSmall else {
            if key == .character("q") { quitting = true }
            return
        }
        if case .paste(let pasted) = key { return paste(pasted) }
        switch mode {
        case .browse, .search, .history, .readers:
            // A message stays until the next key.
            status = nil
        default: break
        }
        switch mode {
        case .browse: browse(key)
        case .search: searchKey(key)
        case .help:
            switch key {
            case .down, .character("j"): helpTop += 1
            case .up, .character("k"): helpTop = max(helpTop - 1, 0)
            default: mode = returnTo
            }
        case .notice: mode = returnTo
        case .input(let input, let then):
            switch key {
            case .escape:
                mode = behind
                status = ("cancelled; nothing was changed", false)
            case .enter:
                discardTypeAhead = true
                if let refusal = input.refusal {
                    mode = behind
                    status = (refusal + "; nothing was changed", true)
                    return
                }
                mode = behind
                then(input)
            default: _ = input.edit(key)
            }
        case .confirm(_, let then):
            discardTypeAhead = true
            mode = behind
            if key == .character("y") || key == .character("Y") { then() } else { status = ("not confirmed; nothing was changed", false) }
        case .history(let panel): historyKey(key, panel)
        case .readers(let panel): readersKey(key, panel)
        }
    }

    // MARK: browsing

    var selectedRow: SecretTree.Row? { rows.indices.contains(selected) ? rows[selected] : nil }
    var selectedID: SecretID? { selectedRow?.id }

    /// The scope the selection is in (the root when nothing is selected).
    var selectedScope: Scope {
        guard let row = selectedRow else { return .root }
        return tree.groups[row.group].scope
    }

    func browse(_ key: Key) {
        if let step = KeyManager.step(key, height: listHeight) { return move(step) }
        switch key {
        case .left, .character("h"):
            guard let row = selectedRow else { return }
            if row.id != nil {
                selected = rows.firstIndex { $0.id == nil && $0.group == row.group } ?? selected
            } else if search.isEmpty {
                toggle(row.group, open: false)
            }
        case .right, .character("l"):
            if let row = selectedRow, row.id == nil, search.isEmpty { toggle(row.group, open: true) }
        case .enter:
            guard let row = selectedRow else { return }
            if row.id == nil {
                if search.isEmpty { toggle(row.group, open: collapsed.contains(tree.groups[row.group].scope)) }
            } else {
                openHistory()
            }
        case .character("/"):
            mode = .search
        case .escape:
            if !search.isEmpty { setSearch("") }
        case .character("?"): showHelp()
        case .character("q"): quitting = true
        case .character("v"): revealSelected()
        case .character("a"): addSecret()
        case .character("e"): editSelected()
        case .character("g"): generate()
        case .character("d"): deleteSelected()
        case .character("r"): renameSelected()
        case .character("R"): openReaders()
        default: break
        }
    }

    /// A paste goes into the line being typed, whole; anywhere else it does nothing.
    func paste(_ pasted: Pasted) {
        switch mode {
        case .input(let input, _):
            input.note = input.paste(pasted)
        case .search:
            guard let text = LineInput.oneLine(pasted), search.count + text.count <= LineInput.plainLimit else {
                searchNote = "a search is one short line; the paste was left out"
                return
            }
            setSearch(search + text)
        default:
            status = ("a paste goes only into a question's answer; nothing was done", false)
        }
    }

    var tooSmall: Bool {
        let size = terminal.size
        return size.columns < KeyManager.smallest.columns || size.rows < KeyManager.smallest.rows
    }

    /// Lines to read (the ids a removed reader could read) over the view, until any key.
    func showNotice(_ title: String, _ lines: [String]) {
        returnTo = mode
        mode = .notice(title, lines)
    }

    func showHelp() {
        returnTo = mode
        helpTop = 0
        mode = .help
    }

    func searchKey(_ key: Key) {
        searchNote = nil
        switch key {
        case .enter: mode = .browse
        case .escape:
            setSearch("")
            mode = .browse
        case .up: move(-1)
        case .down: move(1)
        case .backspace:
            if !search.isEmpty { setSearch(String(search.unicodeScalars.dropLast())) }
        case .control("u"): setSearch("")
        case .character(let scalar) where search.count < LineInput.plainLimit: setSearch(search + String(scalar))
        default: break
        }
    }

    func move(_ by: Int) {
        selected = KeyManager.moved(selected, by: by, count: rows.count)
    }

    /// How far a movement key moves in a list `height` rows high (nil: not one).
    static func step(_ key: Key, height: Int) -> Int? {
        switch key {
        case .up, .character("k"): return -1
        case .down, .character("j"): return 1
        case .pageUp: return -height
        case .pageDown: return height
        case .home: return Int.min / 2
        case .end: return Int.max / 2
        default: return nil
        }
    }

    static func moved(_ index: Int, by step: Int, count: Int) -> Int {
        min(max(index + step, 0), max(count - 1, 0))
    }

    func toggle(_ group: Int, open: Bool) {
        let scope = tree.groups[group].scope
        if open { collapsed.remove(scope) } else { collapsed.insert(scope) }
        refreshRows(keeping: nil, scopeRow: group)
    }

    func setSearch(_ text: String) {
        let keep = selectedID
        search = text
        refreshRows(keeping: keep, scopeRow: nil)
    }

    /// Rebuilds the rows and puts the selection back on `keeping` (or on the
    /// heading of `scopeRow`), else on the first id shown.
    func refreshRows(keeping id: SecretID?, scopeRow: Int?) {
        rows = tree.rows(matching: search, collapsed: collapsed)
        if let id, let at = rows.firstIndex(where: { $0.id == id }) {
            selected = at
        } else if let scopeRow, let at = rows.firstIndex(where: { $0.id == nil && $0.group == scopeRow }) {
            selected = at
        } else {
            selected = rows.firstIndex { $0.id != nil } ?? 0
        }
    }

    /// After a change: the vault read again, the selection on `id` when shown.
    func reload(selecting id: SecretID?) {
        tree = KeyManager.load(vault)
        refreshRows(keeping: id ?? selectedID, scopeRow: nil)
    }

    var listHeight: Int { max(terminal.size.rows - 3, 1) }
}
