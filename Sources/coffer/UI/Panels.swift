import Age
import CofferKit
import Posix
import TerminalUI

/// The versions of one secret, newest first (`coffer history ID`).
final class HistoryPanel {
    let id: SecretID
    var versions: [SecretVersion]
    var selected = 0
    var top = 0

    init(id: SecretID, versions: [SecretVersion]) {
        self.id = id
        self.versions = versions
    }

    var version: SecretVersion? { versions.indices.contains(selected) ? versions[selected] : nil }
}

/// The readers of one scope (`coffer recipients list`, one scope).
final class ReadersPanel {
    let scope: Scope
    var readers: [NamedRecipient]
    var selected = 0
    var top = 0

    init(scope: Scope, readers: [NamedRecipient]) {
        self.scope = scope
        self.readers = readers
    }

    var reader: NamedRecipient? { readers.indices.contains(selected) ? readers[selected] : nil }
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
        switch key {
        case _ where KeyManager.step(key, height: listHeight) != nil:
            panel.selected = KeyManager.moved(panel.selected, by: KeyManager.step(key, height: listHeight)!, count: panel.versions.count)
        case .escape, .left, .character("h"), .character("q"): mode = .browse
        case .character("?"): showHelp()
        case .character("v"):
            guard let version = panel.version else { return }
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
            guard let version = panel.version else { return }
            let date = UTCTime.iso8601(Int(version.time))
            mode = .confirm("Roll \(panel.id) back to v\(version.number) (\(version.commit.prefix(8)), \(date))? "
                            + "It comes back as a new version. [y/N]") { [self] in
                perform {
                    let outcome = try reopen().rollback(panel.id, to: "v\(version.number)", identities: identities)
                    reload(selecting: panel.id)
                    status = (outcome.written.isEmpty ? "unchanged \(panel.id) (already that value)"
                              : "rolled back \(panel.id) to v\(version.number)", false)
                    Console.reportPending(outcome)
                    panel.versions = try vault.history(of: panel.id, checker: try vault.signatureChecker())
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
        switch key {
        case _ where KeyManager.step(key, height: listHeight) != nil:
            panel.selected = KeyManager.moved(panel.selected, by: KeyManager.step(key, height: listHeight)!, count: panel.readers.count)
        case .escape, .left, .character("h"), .character("q"): mode = .browse
        case .character("?"): showHelp()
        case .character("a"): addReader(to: panel)
        case .character("d"): removeReader(from: panel)
        default: break
        }
    }

    func refresh(_ panel: ReadersPanel) throws {
        panel.readers = try vault.readers(in: panel.scope).readers
        panel.selected = min(panel.selected, max(panel.readers.count - 1, 0))
    }

    func addReader(to panel: ReadersPanel) {
        mode = .input(LineInput("Public key of the new reader (age1…, ssh-ed25519 …): ")) { [self] keyInput in
            perform {
                let (recipient, comment) = try ReaderKey.parse(line: keyInput.text.trimmingSpaces)
                mode = .input(LineInput("Name for this reader: ", text: comment ?? "")) { [self] nameInput in
                    perform {
                        let name = nameInput.text.trimmingSpaces
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
        guard let reader = panel.reader else { return }
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

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
