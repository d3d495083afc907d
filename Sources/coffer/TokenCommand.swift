#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import CofferKit
import Posix

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage this host's bearer tokens for `coffer serve` (kept under .git/coffer as keyed hashes, never committed).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Make a token and print it once (256 random bits); this host keeps only its keyed hash.",
            discussion: """
                The token reaches ids under the --scope prefixes (all with --scope /) and \
                nothing else: outside them the server answers 404, as for an absent id. \
                --read (the default) lists and reads masked values; --write also sets and deletes; \
                --reveal reads values in clear; --reveal-links mints one-time reveal links. \
                --ttl: seconds, or a number with s, m, h or d (30d).
                """
        )

        @Option(name: .customLong("scope"), help: ArgumentHelp("An id prefix the token reaches (repeatable; / for every id).", valueName: "PREFIX"))
        var scopes: [String] = []

        @Flag(help: "Read only (the default; excludes --write).")
        var read = false

        @Flag(help: "Read, set and delete (excludes --read).")
        var write = false

        @Flag(help: "Read values in clear.")
        var reveal = false

        @Flag(help: "Mint one-time reveal links.")
        var revealLinks = false

        @Option(help: ArgumentHelp("How long the token lasts (default: until revoked).", valueName: "DURATION"))
        var ttl: String?

        @Option(help: ArgumentHelp("A name for it (default token-N).", valueName: "NAME"))
        var name: String?

        @OptionGroup var options: VaultOptions

        func validate() throws {
            if scopes.isEmpty { throw ValidationError("give at least one --scope PREFIX (--scope / for every id)") }
            // Every id only when asked for by name: an empty --scope (an unset variable) is no scope.
            if scopes.contains(where: { $0 != "/" && $0.allSatisfy { $0 == "/" } }) {
                throw ValidationError("--scope needs a prefix; give --scope / for every id")
            }
            if read && write { throw ValidationError("--read and --write exclude each other") }
            if let ttl, DurationArgument.seconds(ttl, atMost: AccessToken.longestLifetime) == nil { throw ValidationError("--ttl takes seconds, or a number with s, m, h or d (30d)") }
        }

        func run() throws {
            try Console.run {
                let prefixes = try scopes.map(AccessToken.Scope.init)
                var rights: AccessToken.Rights = .read
                if write { rights.insert(.write) }
                if reveal { rights.insert(.reveal) }
                if revealLinks { rights.insert(.revealLinks) }
                let vault = try options.vault()
                let (record, token) = try vault.createToken(name: name, prefixes: prefixes, rights: rights,
                                                            lifetime: ttl.flatMap { DurationArgument.seconds($0, atMost: AccessToken.longestLifetime) })
                do {
                    let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
                    try token.withUnsafeBytes { try out.write($0) }
                    try out.write("\n")
                } catch {
                    // A token nobody received must not stay valid.
                    _ = try? vault.revokeToken(named: record.name)
                    throw error
                }
                Console.info("made token \(record.name) (\(record.rights.description) on \(record.prefixes.map(\.description).joined(separator: ", "))"
                             + (record.expires.map { ", until \(UTCTime.iso8601($0))" } ?? "") + "); it is shown only this once")
                // A typo in a prefix makes a token that sees nothing: say so (ids may come later, so it is made).
                for scope in record.prefixes where !vault.list(scope.prefix).contains(where: scope.reaches) {
                    Console.warning("no ids are under \(scope) yet")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Show this host's tokens: names, prefixes, rights, expiry (never the tokens).")

        @Option(name: .shortAndLong, help: OutputFormat.help)
        var output: OutputFormat = .table

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let now = UTCTime.now()
                var table = Table(["NAME", "PREFIXES", "RIGHTS", "CREATED", "EXPIRES", "STATE"])
                let records = try options.vault().tokens().map { token -> Value in
                    let expires = token.expires.map { UTCTime.iso8601($0) } ?? "never"
                    let state = token.hasExpired(at: now) ? "expired" : "active"
                    let prefixes = token.prefixes.map(\.description)
                    table.rows.append([.string(token.name), .string(prefixes.joined(separator: ",")), .string(token.rights.description),
                                       .string(UTCTime.iso8601(token.created)), .string(expires), .string(state)])
                    return .record(["name": .string(token.name), "prefixes": .strings(prefixes),
                                    "rights": .strings(token.rights.description.split(separator: ",").map(String.init)),
                                    "created": .string(UTCTime.iso8601(token.created)), "expires": .optional(token.expires.map { UTCTime.iso8601($0) }),
                                    "state": .string(state)])
                }
                try Renderer.print(Output(["tokens": .list(records)], table: table), as: output, command: "token list")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Remove a token: the server refuses it (401) from its next request.")

        @Argument(help: "The token's name.")
        var name: String

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                try options.vault().revokeToken(named: name)
                Console.info("revoked token \(TerminalText.escape(name))")
            }
        }
    }
}
