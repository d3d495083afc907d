import Age
import CofferKit
import Posix
import TerminalUI

/// What the keys do to the vault: each through the operation the matching
/// CLI command uses, so each change is the commit that command makes.
extension KeyManager {
    /// Runs an operation, showing its failure on the status line; on the
    /// normal screen when a plugin may need to ask something there.
    func perform(_ body: () throws -> Void) {
        let outer = captured
        captured = []
        defer {
            // What coffer would have printed meanwhile (an unsigned commit's
            // warning, say) follows the outcome on the status line.
            if let lines = captured, !lines.isEmpty {
                status = ((status.map { $0.text + " · " } ?? "") + lines.joined(separator: " · "), true)
            }
            captured = outer
        }
        do {
            if promptsOnTerminal { try terminal.suspended(body) } else { try body() }
        } catch {
            let report = Console.report(error)
            status = ("error: " + report.message + (report.hint.map { " (\($0))" } ?? ""), true)
            // The vault may have changed under the view (a secret removed elsewhere).
            reload(selecting: selectedID)
        }
    }

    /// The vault opened afresh for each change, as each CLI command opens it.
    func reopen() throws -> Vault {
        vault = try settings.vault()
        return vault
    }

    /// Applies `plan` once its risks (sealing where you cannot read) are agreed to.
    func apply(_ plan: ChangePlan, identities: [Identity], done: @escaping (ChangeOutcome) -> Void) {
        var plan = plan
        let go = { [self] in
            perform {
                var last = 0.0
                let outcome = try vault.apply(plan, identities: identities) { count, total in
                    // Progress on the status line, only while the full screen is ours.
                    let now = Monotonic.seconds()
                    guard !self.promptsOnTerminal, now - last > 0.1 else { return }
                    last = now
                    self.status = ("working: \(count) of \(Plural.secrets(total))", false)
                    self.draw()
                }
                done(outcome)
                Console.reportPending(outcome)
            }
        }
        guard !plan.risks.isEmpty else { return go() }
        let risks = plan.risks.map(\.description).joined(separator: "; ")
        mode = .confirm("Careful: \(risks). Continue? [y/N]") {
            plan.confirm()
            go()
        }
    }

    func requireSelection(_ verb: String) -> SecretID? {
        guard let id = selectedID else {
            status = ("select a secret to \(verb) (↑↓, then the key)", false)
            return nil
        }
        return id
    }

    /// `id/` of the selected scope, where a new id most likely goes.
    var newIDPrefix: String { selectedScope.isRoot ? "" : selectedScope.directory + "/" }

    // MARK: secrets

    func revealSelected() {
        guard let id = requireSelection("reveal") else { return }
        perform {
            let value = try vault.read(id, identities: identities)
            try vault.recordReveal(.ui, ids: [id])
            revealed = Revealed(value: value, id: id, version: nil, until: Monotonic.seconds() + KeyManager.revealSeconds)
            status = ("\(id) is shown until the next key (or \(Int(KeyManager.revealSeconds)) s)", false)
        }
    }

    func addSecret() {
        mode = .input(LineInput("New secret id: ", text: newIDPrefix)) { [self] input in
            perform {
                let id = try SecretID(input.text)
                guard !vault.contains(id) else {
                    throw CommandFailure("\(id) already exists", hint: "select it and press e to change its value")
                }
                askValue(for: id)
            }
        }
    }

    func editSelected() {
        guard let id = requireSelection("change") else { return }
        askValue(for: id)
    }

    /// Asks for the value twice, masked, then seals and commits it (`coffer set ID`).
    func askValue(for id: SecretID) {
        mode = .input(LineInput("Value for \(id): ", masked: true)) { [self] first in
            let value = first.value()
            guard value.count > 0 else {
                status = ("empty value for \(id); nothing was changed", true)
                return
            }
            mode = .input(LineInput("Value again: ", masked: true)) { [self] second in
                guard value.constantTimeEquals(second.value()) else {
                    status = ("the two values differ; nothing was changed", true)
                    return
                }
                perform {
                    let vault = try reopen()
                    let plan = try vault.planSet([(id, value)], me: settings.myKeys(loaded: identities))
                    apply(plan, identities: vault.contains(id) ? identities : []) { [self] outcome in
                        status = (outcome.written.isEmpty ? "unchanged \(id) (same value)" : "set \(id)", false)
                        reload(selecting: id)
                    }
                }
            }
        }
    }

    func generate() {
        mode = .input(LineInput("Generate a random value for id: ", text: selectedID?.value ?? newIDPrefix)) { [self] input in
            perform {
                let id = try SecretID(input.text)
                let recipe = try Recipe(.alnum, count: nil)
                let make = { [self] in
                    perform {
                        let vault = try reopen()
                        let (plan, _) = try vault.planGenerate(id, recipe, replacing: vault.contains(id), me: settings.myKeys(loaded: identities))
                        // A risk means you will not read it: nothing to reveal then.
                        let readable = plan.risks.isEmpty
                        apply(plan, identities: []) { [self] _ in
                            status = ("generated \(id): \(Plural.count(recipe.count, "character")) (\(recipe.charset.rawValue)), "
                                      + "\(Int(recipe.entropyBits)) bits of entropy" + (readable ? "; v reveals it" : ""), false)
                            reload(selecting: id)
                        }
                    }
                }
                guard vault.contains(id) else { return make() }
                mode = .confirm("Give \(id) a new random value? Its history keeps the old one. [y/N]", then: make)
            }
        }
    }

    func deleteSelected() {
        guard let id = requireSelection("delete") else { return }
        mode = .confirm("Delete \(id)? Its history keeps it (coffer restore \(id)). [y/N]") { [self] in
            perform {
                let outcome = try reopen().remove([id])
                reload(selecting: nil)
                status = ("removed \(id)", false)
                Console.reportPending(outcome)
            }
        }
    }

    func renameSelected() {
        guard let id = requireSelection("rename") else { return }
        mode = .input(LineInput("Rename \(id) to: ", text: id.value)) { [self] input in
            perform {
                let to = try SecretID(input.text)
                guard to != id else { return }
                let vault = try reopen()
                let plan = try vault.planMove(id, to: to, me: settings.myKeys(loaded: identities))
                apply(plan, identities: identities) { [self] _ in
                    status = ("moved \(id) to \(to)", false)
                    reload(selecting: to)
                }
            }
        }
    }
}
