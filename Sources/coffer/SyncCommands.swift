import ArgumentParser
import Age
import CofferKit
import CofferLocator
import GitStore
import Posix

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Fetch the remote, merge its changes (sealed files by value), push the result.",
        discussion: """
            Without REMOTE: the branch's upstream, else the only remote, else origin. The first sync sets the upstream. \
            Sealed files both sides changed merge by value: a side that only re-wrapped or re-keyed loses to one \
            that changed the value; two different values are a conflict (coffer conflicts, coffer resolve), and \
            nothing is sent until it is settled. The merge commit re-seals what the merged readers require. \
            Reports ids only, never values.
            """
    )

    @Argument(help: "The remote (a name from `coffer remote list`).")
    var remote: String?

    @Option(name: .shortAndLong, help: OutputFormat.help)
    var output: OutputFormat = .table

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let vault = try options.vault()
            let report = try vault.sync(remote: remote, credentials: Transfer.credentials(), identities: try options.identities())
            try Renderer.print(SyncReportOutput.sync(report), as: output, command: "sync")
            SyncReportOutput.advise(report.integration)
            if report.integration.kind == .upToDate, report.pushed == nil {
                Console.info("up to date with \(report.remote)/\(report.branch)")
            }
            if report.upstreamSet { Console.info("\(report.branch) now follows \(report.remote)/\(report.branch)") }
            if report.integration.kind == .conflicts { throw ExitCode.failure }
        }
    }
}

struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "The git remotes this vault syncs with.",
        subcommands: [Add.self, List.self, Remove.self],
        defaultSubcommand: List.self
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a remote: a path, file://, ssh://, user@host:path, http(s)://.")
        @Argument(help: "Its name (origin).") var name: String
        @Argument(help: "Its URL.") var url: String
        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                try options.vault().addRemote(name: name, url: url)
                Console.info("added \(name): coffer sync \(name) fetches, merges and pushes")
                if Remote(name: name, url: url).hasPassword {
                    Console.warning("the URL holds a password, kept in clear in .git/config; a git credential helper keeps it better")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The remotes and their URLs.")
        @Option(name: .shortAndLong, help: OutputFormat.help) var output: OutputFormat = .table
        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let remotes = try options.vault().remotes()
                var table = Table(["NAME", "URL"])
                let rows = remotes.map { r -> Value in
                    // A password written into a URL is never shown.
                    table.rows.append([.string(r.name), .string(r.shownURL)])
                    return .record(["name": .string(r.name), "url": .string(r.shownURL)])
                }
                try Renderer.print(Output(["remotes": .list(rows)], table: table), as: output, command: "remote list")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a remote (the vault is untouched).", aliases: ["rm"])
        @Argument(help: "Its name.") var name: String
        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                try options.vault().removeRemote(name: name)
                Console.info("removed \(name)")
            }
        }
    }
}

struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Clone a vault from a git remote, then set the clone up as `coffer setup` does.",
        discussion: "The vault's signers are shown and pinned after you confirm on a terminal, or those named with --signer."
    )

    @Argument(help: "The remote's URL (a path, file://, ssh://, user@host:path, http(s)://).")
    var url: String

    @Argument(help: "The directory to create (default: the URL's last part without .git).")
    var directory: String?

    @Option(name: .customLong("signer"), help: ArgumentHelp("Pin this signer's key (its SHA256:… fingerprint); repeatable.", valueName: "FPR"))
    var fingerprints: [String] = []

    @OptionGroup var options: VaultOptions

    func run() throws {
        try Console.run {
            let target = VaultSettings.locator.absolute(directory ?? Transfer.directoryName(for: url))
            try Vault.clone(url, into: target, credentials: Transfer.credentials())
            Console.info("cloned \(url) into \(target)")
            var settings = options.settings
            settings.vaultPath = target
            let vault = try settings.vault()
            try SetupCommand.setUp(vault, fingerprints: fingerprints, settings: settings)
        }
    }
}

/// What transfers use: the process environment's ssh agent, keys and known hosts.
enum Transfer {
    static func credentials() -> TransferCredentials {
        var environment: [String: String] = [:]
        for entry in Locator.processEnvironment() {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment[String(decoding: entry[..<equals], as: UTF8.self)] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
        }
        var credentials = TransferCredentials.standard(environment: environment)
        // ssh's own config is not read (libssh2 does not): a known_hosts
        // file elsewhere is named here, several separated by ':'.
        if let files = environment["COFFER_SSH_KNOWN_HOSTS"], !files.isEmpty {
            credentials.knownHostsFiles = files.split(separator: ":").map { VaultSettings.locator.absolute(String($0)) }
        }
        return credentials
    }

    /// `git clone`'s choice: the last part of the URL, without `.git`.
    static func directoryName(for url: String) -> String {
        var name = url
        while name.hasSuffix("/") { name.removeLast() }
        name = String(name.split(whereSeparator: { $0 == "/" || $0 == ":" }).last ?? "vault")
        if name.hasSuffix(".git") { name.removeLast(4) }
        return name.isEmpty ? "vault" : name
    }
}
