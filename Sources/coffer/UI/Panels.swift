import Age
import CofferKit
import Posix
import TerminalUI

/// A list with a selection, scrolled to keep the selection in view.
class ListPanel<Item> {
    var items: [Item]
    var selected = 0
    var top = 0

    init(items: [Item]) { self.items = items }

    var current: Item? { items.indices.contains(selected) ? items[selected] : nil }

    /// Moves the selection for a movement key; false for other keys.
    func move(_ key: Key, height: Int) -> Bool {
        guard let step = KeyManager.step(key, height: height) else { return false }
        selected = KeyManager.moved(selected, by: step, count: items.count)
        return true
    }

    /// New items, the selection kept in range.
    func replace(_ items: [Item]) {
        self.items = items
        selected = min(selected, max(items.count - 1, 0))
    }
}

/// The versions of one secret, newest first (`coffer history ID`).
final class HistoryPanel: ListPanel<SecretVersion> {
    let id: SecretID

    init(id: SecretID, versions: [SecretVersion]) {
        self.id = id
        super.init(items: versions)
    }
}

/// The readers of one scope (`coffer recipients list`, one scope).
final class ReadersPanel: ListPanel<NamedRecipient> {
    let scope: Scope

    init(scope: Scope, readers: [NamedRecipient]) {
        self.scope = scope
        super.init(items: readers)
    }
}

extension NamedRecipient {
    /// The name shown for a reader: the one written beside the key, else its fingerprint.
    var shownName: String { name ?? fingerprint }
}

extension KeyManager {
    // MARK: history

    func openHistory() {
        guard let id = requireSelection("show the history of") else { return }
        perform {
            let checker = try vault.signatureChecker()
            mode = .history(HistoryPanel(id: id, versions: try vault.history(of: id, checker: checker)))
        }
    }

    func historyKey(_ key: Key, _ panel: HistoryPanel) {
        if panel.move(key, height: listHeight) { return }
        switch key {
        case .escape, .left, .character("h"), .character("q"): mode = .browse
        case .character("?"): showHelp()
        case .character("v"):
            guard let version = panel.current else { return }
            guard version.change != .deleted else {
                status = ("v\(version.number) removed \(panel.id); it has no value to show", false)
                return
            }
            perform {
                let value = try vault.read(panel.id, at: "v\(version.number)", identities: identities)
                try vault.recordReveal(.ui, ids: [panel.id], at: version.commit)
                revealed = Revealed(value: value, id: panel.id, version: version.number, until: Monotonic.seconds() + KeyManager.revealSeconds)
                status = ("v\(version.number) is shown until the next key (or \(Int(KeyManager.revealSeconds)) s)", false)
            }
        case .character("r"), .enter:
            guard let version = panel.current else { return }
            let date = UTCTime.iso8601(Int(version.time))
            mode = .confirm("Roll \(panel.id) back to v\(version.number) (\(version.commit.prefix(8)), \(date))? "
                            + "It comes back as a new version. [y/N]") { [self] in
                perform {
                    let outcome = try reopen().rollback(panel.id, to: "v\(version.number)", identities: identities)
                    reload(selecting: panel.id)
                    status = (outcome.written.isEmpty ? "unchanged \(panel.id) (already that value)"
                              : "rolled back \(panel.id) to v\(version.number)", false)
                    Console.reportPending(outcome)
                    panel.replace(try vault.history(of: panel.id, checker: try vault.signatureChecker()))
                    panel.selected = 0
                }
            }
        default: break
        }
    }

    // MARK: readers

    func openReaders() {
        let scope = selectedScope
        perform {
            mode = .readers(ReadersPanel(scope: scope, readers: try vault.readers(in: scope).readers))
        }
    }

    func readersKey(_ key: Key, _ panel: ReadersPanel) {
        if panel.move(key, height: listHeight) { return }
        switch key {
        case .escape, .left, .character("h"), .character("q"): mode = .browse
        case .character("?"): showHelp()
        case .character("a"): addReader(to: panel)
        case .character("d"): removeReader(from: panel)
        default: break
        }
    }

    func refresh(_ panel: ReadersPanel) throws {
        panel.replace(try vault.readers(in: panel.scope).readers)
    }

    func addReader(to panel: ReadersPanel) {
        mode = .input(LineInput("Public key of the new reader (age1…, ssh-ed25519 …): ")) { [self] keyInput in
            perform {
                let (recipient, comment) = try ReaderKey.parse(line: keyInput.text.trimming(" \t"))
                mode = .input(LineInput("Name for this reader: ", text: comment ?? "")) { [self] nameInput in
                    perform {
                        let name = nameInput.text.trimming(" \t")
                        let reader = NamedRecipient(recipient: recipient, name: name.isEmpty ? nil : name)
                        let plan = try reopen().planAddReader(reader, to: [panel.scope])
                        apply(plan, identities: identities) { [self] outcome in
                            reload(selecting: nil)
                            status = ("added \(reader.shownName) to \(panel.scope); re-wrapped \(Plural.secrets(outcome.written.count))", false)
                            try? refresh(panel)
                        }
                    }
                }
            }
        }
    }

    func removeReader(from panel: ReadersPanel) {
        guard let reader = panel.current else { return }
        let who = reader.shownName
        mode = .confirm("Remove \(who) from \(panel.scope)? The secrets there get fresh keys, but \(who) may "
                        + "still know their values. [y/N]") { [self] in
            perform {
                let plan = try reopen().planRemoveReader(.key(reader.recipient), from: [panel.scope], me: settings.myKeys(loaded: identities))
                apply(plan, identities: identities) { [self] outcome in
                    reload(selecting: nil)
                    try? refresh(panel)
                    status = ("removed \(who) from \(panel.scope); re-keyed \(Plural.secrets(outcome.rekeyed.count))", false)
                    guard !outcome.exposed.isEmpty else { return }
                    let them = outcome.exposed.count == 1 ? "its value; change it" : "their values; change them"
                    showNotice("\(who) could read \(Plural.secrets(outcome.exposed.count)) and may still know \(them) "
                               + "(select one, press e):", outcome.exposed.map(\.value))
                }
            }
        }
    }
}
