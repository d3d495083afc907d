#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix
import TerminalUI

struct UICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Browse and change the vault in the terminal (a full-screen key manager).",
        discussion: """
            Scopes with their readers, and their secrets; / searches, v reveals the selected \
            value until the next key, ? lists every key. Each change is the commit the matching \
            coffer command makes. Needs a terminal on standard input and output; a protected \
            identity asks for its passphrase before the screen opens. NO_COLOR turns colours off.
            """
    )

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            guard let terminal = Terminal() else {
                throw CommandFailure("coffer ui needs a terminal on both standard input and standard output",
                                     hint: "in scripts use coffer list, get and set")
            }
            let settings = options.settings
            let vault = try settings.vault()
            PhaseTimings.mark("open-vault")
            try settings.store.checkPermissions()
            // Asked here, on the normal screen, once for the whole session.
            let identities = try settings.identitiesIfPresent()
            PhaseTimings.mark("identities")
            try KeyManager(terminal: terminal, settings: settings, vault: vault, identities: identities).run()
        }
    }
}
