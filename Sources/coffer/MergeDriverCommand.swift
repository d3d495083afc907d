import ArgumentParser
import CofferKit

/// git's merge driver for sealed files and trust files (`merge.coffer.driver`,
/// set by `coffer setup`): git runs it once per file both sides changed.
struct MergeDriverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-driver", abstract: "git merge driver (internal).", shouldDisplay: false)

    @Argument(help: "The common ancestor's version (git's %O; empty when both sides added the file).")
    var base: String

    @Argument(help: "Ours (git's %A), where the result is written.")
    var ours: String

    @Argument(help: "Theirs (git's %B).")
    var theirs: String

    @Argument(help: "The file's path in the vault (git's %P).")
    var path: String

    var job: MergeDriverJob { MergeDriverJob(base: base, ours: ours, theirs: theirs, path: path) }

    func run() throws { try job.run() }
}

/// One merge-driver run, also built by the start-up fast path: it runs once
/// per conflicting file, so it parses nothing it does not need and never
/// opens the repository (libgit2 stays unloaded).
struct MergeDriverJob: Equatable {
    var base: String
    var ours: String
    var theirs: String
    var path: String

    func run() throws {
        try Console.run {
            // git runs drivers without a way to answer a prompt: an identity
            // with a passphrase stays closed, and a merge that needs to read
            // the values becomes a conflict instead of a hang.
            let settings = VaultSettings()
            let identities = settings.identitiesWithoutPrompt()
            let result = try MergeDriverFiles.merge(base: base, ours: ours, theirs: theirs, path: path, identities: identities)
            guard case .conflict(let reason) = result else { return }
            let shown = TerminalText.escape(path)
            let settle = SecretID(relativePath: path).map { "with coffer resolve \(TerminalText.escape($0.value)) --ours|--theirs|--stdin" }
                ?? "by editing it (git show :2:\(shown) and :3:\(shown) hold both sides), then git add"
            Console.write("coffer: conflict in \(shown): \(reason); settle it \(settle)\n")
            if reason == .unreadable, identities.isEmpty, settings.store.exists {
                Console.hint("your identity has a passphrase, which git's merge driver cannot ask for")
            }
            throw ExitCode.failure
        }
    }
}
