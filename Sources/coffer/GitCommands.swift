#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Which secrets were added, changed, re-wrapped or removed.",
        discussion: """
            coffer diff            the work tree against HEAD
            coffer diff REV        the work tree against REV
            coffer diff REV1 REV2  REV1 against REV2
            Each change names its commit, signer and action (none if only in the work tree).
            Values only with --reveal (asks first on a terminal unless --yes).
            """
    )

    @Argument(help: "Revisions (commit ids, HEAD~N, tags).")
    var revisions: [String] = []

    @Flag(help: "Also show old and new values of changed secrets.")
    var reveal = false

    @Flag(name: .shortAndLong, help: "Do not ask before revealing.")
    var yes = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if revisions.count > 2 { throw ValidationError("give at most two revisions") }
    }

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            if reveal { try Confirm.reveal("the values of changed secrets", yes: yes) }
            // Values are compared whenever the identity opens without a prompt
            // (or --reveal asked for it), so a re-encryption is not called a change.
            let identities = reveal ? try options.identities() : options.settings.identitiesWithoutPrompt()
            // Against HEAD every difference is in the work tree alone: no commit to check.
            let checker = revisions.isEmpty ? nil : try vault.signatureChecker()
            let differences = try vault.differences(from: revisions.first, to: revisions.count == 2 ? revisions[1] : nil,
                                                    identities: identities, reveal: reveal, checker: checker)
            if let checker, differences.contains(where: { $0.origin != nil }) { Console.reportUnverifiable(checker) }
            if reveal, !differences.isEmpty {
                try vault.recordReveal(.diff, ids: differences.map(\.id), at: revisions.count == 2 ? revisions[1] : nil)
            }
            func value(_ secret: SecureBytes?, _ present: Bool) -> Value? {
                guard reveal, present else { return nil }
                return secret.map(Value.secret) ?? .string("(not readable by you)")
            }
            var table = Table(["CHANGE", "ID", "COMMIT", "SIGNED", "ACTION"] + (reveal ? ["OLD", "NEW"] : []))
            let rows = differences.map { d -> Value in
                var row: Record = ["id": .string(d.id.value), "change": .string(d.kind.rawValue),
                                   "same_value": d.sameValue.map(Value.bool) ?? .null, "commit": .optional(d.origin?.commit)]
                d.origin?.appendSignatureAndAction(to: &row)
                let old = value(d.old, d.kind != .added), new = value(d.new, d.kind != .removed)
                if let old { row.append("old", old) }
                if let new { row.append("new", new) }
                let change = d.kind.rawValue + (d.sameValue == true ? ", same value" : "")
                let made: [Value] = d.origin.map { [.string(String($0.commit.prefix(8))), $0.signedCell, .string($0.action)] }
                    ?? [.null, .null, .null]
                table.rows.append([.string(change), .string(d.id.value)] + made + (reveal ? [old ?? .null, new ?? .null] : []))
                return .record(row)
            }
            try Renderer.print(Output(["differences": .list(rows)], table: table), as: output, command: "diff")
        }
    }
}

struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Set up this clone of a vault: git's diff and merge drivers for sealed files, signature checks, and the post-merge hook.",
        discussion: """
            `coffer init` does this for new vaults; run it once in every fresh `git clone` of a vault. \
            It also pins the vault's signers as this clone's root of trust, after showing them: \
            it asks on a terminal, or takes the fingerprints to pin with --signer.
            """
    )

    @Option(name: .customLong("signer"), help: ArgumentHelp("Pin this signer's key (its SHA256:… fingerprint); repeatable.", valueName: "FPR"))
    var fingerprints: [String] = []

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run { try SetupCommand.setUp(try options.vault(), fingerprints: fingerprints, settings: options.settings) }
    }

    /// What `setup` and `clone` do to a clone: git's drivers, then the pin.
    static func setUp(_ vault: Vault, fingerprints: [String], settings: VaultSettings) throws {
        let hook = try GitIntegration.configure(vault, executable: Executable.path)
        Console.info("git diff, git log -p and git show in \(vault.root) now show sealed files as id, readers and payload digest")
        Console.info("git verify-commit and git log --show-signature now check commits against \(vault.root)/.signers")
        Console.info("git merge and git pull now merge sealed files by value and .recipients, .signers as sets of lines")
        SetupCommand.report(hook)
        guard try vault.trustStatus().pinned == nil || !fingerprints.isEmpty else { return }
        var fingerprints = fingerprints
        // Pinning named signers (a teammate's) trusts the user's own key too
        // when the vault lists it: else their own reader and signer changes
        // would be held back in their own clone.
        if !fingerprints.isEmpty, let own = try? settings.store.signingPublicKey()?.fingerprint,
           !fingerprints.contains(where: { $0 == own || "SHA256:" + $0 == own }),
           (try? vault.pinCandidate().signers.contains { $0.fingerprint == own }) == true {
            fingerprints.append(own)
        }
        do {
            try SignersCommand.pin(vault, fingerprints: fingerprints, yes: false, required: !fingerprints.isEmpty)
        } catch VaultError.noSignersToPin where fingerprints.isEmpty {
            Console.warning("the vault has no .signers, so its history is not signed: `coffer signers init` starts it")
        }
    }
}

extension SetupCommand {
    /// Says whether stock merges are followed by `coffer reseal`.
    static func report(_ hook: HookInstall) {
        switch hook {
        case .installed:
            Console.info("after each git merge or pull, the post-merge hook re-seals what the merge left sealed for old readers")
        case .userHookKept(let path):
            Console.warning("\(TerminalText.escape(path)) is a hook of yours, left as it is: run `coffer reseal` after each git merge or pull "
                            + "(or call it from that hook)")
        }
    }
}

/// The git textconv driver: prints a sealed file as text for `git diff`.
/// Values appear only if COFFER_DIFF_REVEAL=1 and the identity opens without a passphrase.
struct TextconvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "textconv", abstract: "git diff driver (internal).", shouldDisplay: false)

    @Argument(help: "The file git passes.")
    var file: String

    func run() throws {
        try Console.run {
            let bytes = try Files.read(path: file)
            let settings = VaultSettings()
            let vault = try? settings.vault()
            let reveal = VaultSettings.locator.revealsValuesInDiffs
            let identities = reveal ? settings.identitiesWithoutPrompt() : []
            try FileDescriptorSink(fd: 1, name: "standard output").write(GitIntegration.describe(bytes, vault: vault, identities: identities))
        }
    }
}

/// The running executable, for the git driver entry.
enum Executable {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "coffer"
    }
}
