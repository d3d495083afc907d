#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a signed bundle of the secrets under PREFIX for other recipients.",
        discussion: """
            coffer export PREFIX --to KEY… | --to-file FILE… -o BUNDLE
                one file (a tar archive) holding each secret re-wrapped for the recipients only
                (its data key and payload kept), a manifest and your SSH signature of it;
                `coffer import` checks it all, and so can tar, ssh-keygen, sha256sum and age
                (docs/BUNDLES.md).
            coffer export PREFIX --format dotenv|json|yaml --reveal [-o FILE]
                the values themselves, in plaintext (asks on a terminal unless --yes; a file
                written is 0600).
            """
    )

    @Argument(help: ArgumentHelp("The secrets under this prefix (/ for all).", valueName: "PREFIX"), completion: Completion.secretIDs)
    var prefix: String

    @Option(name: .customLong("to"), help: ArgumentHelp("A destination recipient (age1…; repeatable).", valueName: "KEY"))
    var recipients: [String] = []

    @Option(name: .customLong("to-file"), help: ArgumentHelp("A file of destination recipients, one age1… per line (repeatable).", valueName: "FILE"))
    var recipientFiles: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write it (a bundle needs one; plaintext defaults to standard output).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Leave out secrets you cannot open instead of failing.")
    var skipUnreadable = false

    @Option(help: ArgumentHelp("Write the values in plaintext as dotenv, json or yaml (needs --reveal).", valueName: "FORMAT"))
    var format: PlaintextFormat?

    @Flag(help: "With --format: agree to write the values in plaintext.")
    var reveal = false

    @Flag(name: .shortAndLong, help: "With --format --reveal: do not ask first.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if format != nil {
            guard recipients.isEmpty, recipientFiles.isEmpty else { throw ValidationError("--format writes plaintext; --to and --to-file are for bundles") }
            guard !skipUnreadable else { throw ValidationError("--format writes every value under the prefix; --skip-unreadable is for bundles") }
        } else {
            guard !reveal, !yes else { throw ValidationError("--reveal and --yes go with --format") }
            guard !recipients.isEmpty || !recipientFiles.isEmpty else { throw ValidationError("name the destination with --to KEY or --to-file FILE") }
            guard output != nil else { throw ValidationError("a bundle is written to a file: -o FILE") }
        }
    }

    func run() throws {
        try Console.run {
            let prefix = prefix == "/" ? Prefix.all : try Prefix(prefix)
            if let format {
                try PlaintextExport(prefix: prefix, format: format, output: output, reveal: reveal, yes: yes, options: options).run()
                return
            }
            var destination = try recipients.map { try ReaderKey(parsing: $0) }
            for file in recipientFiles { destination += try RecipientList.read(path: file) }
            let vault = try options.vault()
            let identities = try options.identities()
            let signer = try BundleSigning.signer(in: vault, options: options)
            let bundle = try vault.exportBundle(prefix, to: destination, signer: signer, identities: identities,
                                                skipUnreadable: skipUnreadable)
            try OutputFile.write(bundle.bytes, to: output!, mode: 0o644)
            if !bundle.skipped.isEmpty {
                Console.warning("left out \(Plural.secrets(bundle.skipped.count)) you cannot open: "
                                + bundle.skipped.map(\.value).joined(separator: ", "))
            }
            Console.info("exported \(Plural.secrets(bundle.ids.count)) under \(prefix) to \(TerminalText.escape(output!)), "
                         + "signed by \(TerminalText.escape(signer.principal)), for \(destination.count) recipient\(destination.count == 1 ? "" : "s")")
        }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring in the secrets of a bundle, checked completely before anything is written, in one commit.",
        discussion: """
            The signature must be by a signer in this vault's .signers (or --signer), the manifest \
            must match the archive exactly, every entry must open with your identity and be bound \
            to its id, and the bundle must be newer than the last one imported from that signer for \
            that prefix. Ids that exist here with another value are conflicts: --merge keeps ours, \
            --replace takes the bundle's; with neither, the import is refused. \
            With --from dotenv|json|yaml --allow-plaintext, FILE holds values in plaintext instead.
            """
    )

    @Argument(help: ArgumentHelp("The bundle (or, with --from, the plaintext file).", valueName: "FILE"))
    var file: String

    @Option(help: ArgumentHelp("Put the secrets under this prefix instead of the bundle's.", valueName: "PREFIX"))
    var prefix: String?

    @Flag(help: "Keep the values here where they differ (report the conflicts).")
    var merge = false

    @Flag(help: "Take the bundle's values where they differ.")
    var replace = false

    @Flag(help: "Show what would be added, changed, left or in conflict; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Trust this signer (ssh-ed25519 AAAA…) for this import, instead of .signers.", valueName: "KEY"))
    var signer: String?

    @Flag(help: "Import a bundle that is not signed.")
    var allowUnsigned = false

    @Flag(help: "Import a bundle older than the last one imported from its signer for its prefix.")
    var allowOlder = false

    @Option(help: ArgumentHelp("Read FILE as plaintext values: dotenv, json or yaml (needs --allow-plaintext).", valueName: "FORMAT"))
    var from: PlaintextFormat?

    @Flag(help: "With --from: agree to read values from a plaintext file.")
    var allowPlaintext = false

    @Flag(name: .shortAndLong, help: "Import even into scopes you do not read (you could not read the values back).")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if merge && replace { throw ValidationError("--merge and --replace exclude each other") }
        if from != nil {
            guard signer == nil, !allowUnsigned, !allowOlder else {
                throw ValidationError("--from reads plaintext; --signer, --allow-unsigned and --allow-older are for bundles")
            }
        } else if allowPlaintext {
            throw ValidationError("--allow-plaintext goes with --from dotenv|json|yaml")
        }
    }

    func run() throws {
        try Console.run {
            var settings = ImportOptions()
            settings.conflicts = merge ? .keep : replace ? .replace : .refuse
            settings.prefix = try prefix.map { $0 == "/" ? Prefix.all : try Prefix($0) }
            settings.allowUnsigned = allowUnsigned
            settings.allowOlder = allowOlder
            if let signer { settings.signers = [try BundleSigning.trusted(signer)] }
            if from != nil && !allowPlaintext {
                throw CommandFailure("\(TerminalText.escape(file)) would be read as plaintext values; nothing was imported",
                                     hint: "pass --allow-plaintext if that is intended (a bundle needs no --from)")
            }
            let vault = try options.vault()
            let identities = try options.identities()
            settings.me = options.myKeys(loaded: identities)
            var plan: ImportPlan
            if let from {
                plan = try vault.planPlaintextImport(try PlaintextImport.read(file, as: from), format: from, options: settings,
                                                     identities: identities)
            } else {
                plan = try vault.planImport(try InputFile.read(file, limit: BundleSigning.maxBundleSize), options: settings, identities: identities)
            }
            var commit: String?
            if !dryRun {
                try Confirm.risks(of: &plan, yes: yes)
                let outcome = try vault.importBundle(plan, identities: identities)
                commit = outcome.commit
                Console.reportPending(outcome)
            }
            let rows = [("added", plan.added), ("changed", plan.changed), ("unchanged", plan.unchanged), ("conflict", plan.conflicts)]
            let table = Table(["STATUS", "ID"], rows: rows.flatMap { status, ids in ids.map { [.string(status), .string($0.value)] } })
            let document: Record = [
                "added": .strings(plan.added.map(\.value)), "changed": .strings(plan.changed.map(\.value)),
                "unchanged": .strings(plan.unchanged.map(\.value)), "conflicts": .strings(plan.conflicts.map(\.value)),
                "signer": .optional(plan.signer), "source_commit": .optional(plan.sourceCommit), "created": .optional(plan.created),
                "digest": .optional(plan.digest), "commit": .optional(commit), "dry_run": .bool(dryRun),
            ]
            try Renderer.print(Output(document, table: table), as: output, command: "import")
            if output == .table {
                let counts = "\(plan.added.count) added, \(plan.changed.count) changed, \(plan.unchanged.count) unchanged, \(plan.conflicts.count) in conflict"
                let who = from.map { "from a plaintext \($0.rawValue) file" }
                    ?? plan.signer.map { "signed by \(TerminalText.escape($0))" } ?? "unsigned"
                Console.info((dryRun ? "would import: " : "imported: ") + counts + " (\(who))"
                             + (merge && !plan.conflicts.isEmpty ? "; the conflicts kept their values here" : ""))
                if from != nil && !dryRun {
                    Console.hint("\(TerminalText.escape(file)) still holds the values in plaintext; delete it when you no longer need it")
                }
            }
        }
    }
}
