import ArgumentParser
import CofferKit
import Posix

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the vault's settings (.coffer-config), or change one in a signed commit; --user: your own settings.",
        discussion: """
            coffer config               the settings, as the vault's history records them
            coffer config signing off   coffer's commits are unsigned from then on
            coffer config signing on    coffer signs its commits (the default)
            coffer config --user audit off|on   whether your audit log records reveals and changes \
            (on by default; kept in $XDG_CONFIG_HOME/coffer/config, never in a vault)
            A change is one commit changing only .coffer-config, signed with your signing key \
            like any change of who may sign or read: turning signing off is itself signed, and \
            only the commits after it are not. Setting the value it already has makes no commit.
            """
    )

    /// The settings `.coffer-config` holds.
    enum Setting: String, ExpressibleByArgument, CaseIterable {
        case signing
        /// Per user (`--user`): the audit log.
        case audit
    }

    enum Switch: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    @Argument(help: ArgumentHelp("The setting to change.", valueName: "SETTING"))
    var setting: Setting?

    @Argument(help: ArgumentHelp("Its new value.", valueName: "VALUE"))
    var value: Switch?

    @Flag(help: "Your own settings ($XDG_CONFIG_HOME/coffer/config), not the vault's.")
    var user = false

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat?

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if let setting, value == nil { throw ValidationError("missing the value: coffer config \(user ? "--user " : "")\(setting.rawValue) on|off") }
        if user, setting == .signing { throw ValidationError("signing is the vault's setting, not yours: coffer config signing on|off") }
        if !user, setting == .audit { throw ValidationError("audit is your own setting, not the vault's: coffer config --user audit on|off") }
        if setting != nil, output != nil { throw ValidationError("-o is for showing the settings; a change prints none") }
    }

    func run() throws {
        try Console.run {
            if user { return try runForUser() }
            let vault = try options.vault()
            guard case .signing? = setting, let value else {
                let config = try vault.config()
                let signing = config.signing ? "on" : "off"
                let table = Table(["SETTING", "VALUE"], rows: [[.string(Setting.signing.rawValue), .string(signing)]])
                try Renderer.print(Output(["signing": .string(signing)], table: table), as: output ?? .table, command: "config")
                return
            }
            let plan = try vault.planSigning(value == .on)
            guard !plan.changesNothing else {
                Console.info("signing is already \(value.rawValue); nothing changed (no commit)")
                return
            }
            // Without an identity this CLI's signer commits unsigned, which a
            // settings change may not: refused before the signer warns.
            guard options.store.exists else { throw VaultError.unsignedConfigChange }
            let outcome = try vault.apply(plan, identities: [])
            switch value {
            case .off:
                Console.info("signing turned off in .coffer-config, in a signed commit")
                Console.warning("from now on coffer's commits in this vault are unsigned: `git verify-commit` refuses them, "
                                + "and coffer's history, log and verify --history report the history after this commit as unverified")
                Console.hint("`coffer config signing on` signs again")
            case .on:
                Console.info("signing turned on in .coffer-config: coffer signs every commit again")
            }
            Console.reportPending(outcome)
        }
    }

    /// `--user`: this user's settings file, outside every vault.
    private func runForUser() throws {
        let path = VaultSettings.locator.userConfigPath
        guard let value else {
            let audit = try UserSettings.load(from: path).audit ? "on" : "off"
            let table = Table(["SETTING", "VALUE"], rows: [[.string(Setting.audit.rawValue), .string(audit)]])
            try Renderer.print(Output(["audit": .string(audit)], table: table), as: output ?? .table, command: "config")
            return
        }
        // The switch itself is an entry: off recorded while still on, on once
        // on. Best effort, since a broken log is a reason to turn it off.
        func record() {
            let event = AuditEvent(action: "config:audit=\(value.rawValue)", ids: [], commit: nil, vault: "",
                                   user: VaultSettings.locator.userName ?? "unknown", time: UTCTime.now())
            do { try AuditLog(directory: VaultSettings.locator.auditDirectory).record(event) } catch {
                Console.warning("the audit log has no entry for this switch: \(error)")
            }
        }
        if value == .off, (try? UserSettings.load(from: path).audit) != false { record() }
        // Written whole, without reading the old file first: a file coffer
        // cannot read is then mended by the command that sets it.
        try UserSettings(audit: value == .on).save(to: path)
        if value == .on { record() }
        Console.info(value == .on
            ? "auditing is on: reveals and changes are recorded in \(TerminalText.escape(VaultSettings.locator.auditDirectory))/audit.log"
            : "auditing is off: coffer records nothing in your audit log until `coffer config --user audit on`")
    }
}
