#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete secrets in one commit (history keeps earlier versions)."
    )

    @Argument(help: "The secret ids.", completion: Completion.secretIDs)
    var ids: [String]

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let outcome = try options.vault().remove(try ids.map(SecretID.init))
            for id in outcome.removed { Console.info("removed \(id)") }
            Console.reportPending(outcome)
        }
    }
}

struct MvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv",
        abstract: "Rename a secret: re-sealed for the new id (and its scope's readers) in one commit."
    )

    @Argument(help: "The current id.", completion: Completion.secretIDs)
    var old: String

    @Argument(help: "The new id.")
    var new: String

    @Flag(name: .shortAndLong, help: "Move it even into a scope whose readers do not include you.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let from = try SecretID(old), to = try SecretID(new)
            let vault = try options.vault()
            let identities = try options.identities()
            var plan = try vault.planMove(from, to: to, me: options.myKeys(loaded: identities))
            try Confirm.risks(of: &plan, yes: yes)
            let outcome = try vault.apply(plan, identities: identities)
            Console.info("moved \(from) to \(to)")
            Console.reportPending(outcome)
        }
    }
}
