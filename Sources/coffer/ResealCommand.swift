import ArgumentParser
import CofferKit

/// The follow-up to a stock `git pull` (run by the post-merge hook `setup`
/// installs): secrets sealed for other readers than their scope's, re-sealed.
struct ResealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reseal",
        abstract: "After a git merge, re-seal the secrets whose scope's readers changed, in one commit.",
        discussion: """
            git merges a sealed file with coffer's driver only when both sides changed it; a secret \
            only one side touched stays sealed for that side's readers when the other side added or \
            removed a reader of its scope. reseal re-wraps those (a reader added: payload kept) or \
            re-keys them (a reader removed), in one commit; `coffer verify` reports them until then. \
            The post-merge hook `coffer setup` installs runs it after every git merge or pull. \
            Readers this clone has not accepted are refused (see `coffer recipients accept`). \
            After a removal the ids the removed reader could read are printed on standard output \
            (a table, or under "exposed" with -o json|yaml): change those values. Nothing to do: no commit.
            """
    )

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let plan = try vault.planReseal()
            var outcome: ChangeOutcome?
            if !plan.changesNothing {
                let identities = try options.identities()
                outcome = try ProgressLine.around("re-sealing") { progress in
                    try vault.apply(plan, identities: identities, progress: progress)
                }
            }
            let written = outcome?.written ?? [], rekeyed = outcome?.rekeyed ?? [], exposed = outcome?.exposed ?? []
            if output == .table, !written.isEmpty {
                Console.info("re-sealed \(Plural.secrets(written.count)) for their scope's readers (\(rekeyed.count) re-keyed)")
                if !exposed.isEmpty {
                    Console.info("readers removed on the other side could read \(Plural.secrets(exposed.count)) and may still know "
                                 + "their values; change those values (coffer set ID) — re-keying alone does not:")
                }
            }
            let document: Record = [
                "resealed": .strings(written.map(\.value)),
                "rekeyed": .strings(rekeyed.map(\.value)),
                "exposed": .strings(exposed.map(\.value)),
                "commit": .optional(outcome?.commit),
            ]
            let table = Table(["ID"], rows: exposed.map { [.string($0.value)] })
            try Renderer.print(Output(document, table: table), as: output, command: "reseal")
            if let outcome { Console.reportPending(outcome) }
        }
    }
}
